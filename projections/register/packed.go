package register

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// packedRows is the persons' bucket of a register folded in memory
// (Memory): each row (packed, as in the file) is copied into large byte
// chunks, found through maps whose keys and values hold no pointers. A
// million persons as Facts values were some ten million small objects,
// which the collector marked again in every cycle of a replay (audit
// verify); as packed rows they are a few chunks it does not look into.
type packedRows struct {
	// byUUID finds the rows of ids as long as a UUID's canonical form
	// (nearly all ids are UUIDs), by their bytes; byOther those of any
	// other length.
	byUUID  map[[uuidLen]byte]rowRef
	byOther map[string]rowRef
	chunks  [][]byte
}

var _ kv = (*packedRows)(nil)

// uuidLen is the length of an id in the canonical UUID form.
const uuidLen = 36

// rowRef is where a row is: its chunk and its offset there. The row starts
// with its length (rowLenSize bytes) and may be followed by spare room that
// a longer version of it once used.
type rowRef struct {
	chunk, offset uint32
}

const (
	rowLenSize = 4
	// packedChunk is the size of a chunk; a longer row has one of its own.
	packedChunk = 4 << 20
)

func newPackedRows() *packedRows {
	return &packedRows{byUUID: map[[uuidLen]byte]rowRef{}, byOther: map[string]rowRef{}}
}

func (p *packedRows) ref(id []byte) (rowRef, bool) {
	if len(id) == uuidLen {
		r, ok := p.byUUID[[uuidLen]byte(id)]
		return r, ok
	}
	r, ok := p.byOther[string(id)]
	return r, ok
}

func (p *packedRows) setRef(id []byte, r rowRef) {
	if len(id) == uuidLen {
		p.byUUID[[uuidLen]byte(id)] = r
		return
	}
	p.byOther[string(id)] = r
}

// Get returns a person's row, nil for a person never put. It is the
// chunk's own bytes: a later Put may write over them.
func (p *packedRows) Get(id []byte) []byte {
	r, ok := p.ref(id)
	if !ok {
		return nil
	}
	c := p.chunks[r.chunk][r.offset:]
	n := binary.LittleEndian.Uint32(c)
	return c[rowLenSize : rowLenSize+n]
}

// Put copies a person's row in, over its previous version when the new
// one fits in its room.
func (p *packedRows) Put(id, row []byte) error {
	n := len(row)
	if r, ok := p.ref(id); ok {
		c := p.chunks[r.chunk][r.offset:]
		if room := binary.LittleEndian.Uint32(c); n <= int(room) {
			binary.LittleEndian.PutUint32(c, uint32(n))
			copy(c[rowLenSize:], row)
			return nil
		}
	}
	need := rowLenSize + n
	last := len(p.chunks) - 1
	if last < 0 || cap(p.chunks[last])-len(p.chunks[last]) < need {
		p.chunks = append(p.chunks, make([]byte, 0, max(packedChunk, need)))
		last++
	}
	c := p.chunks[last]
	r := rowRef{chunk: uint32(last), offset: uint32(len(c))}
	c = binary.LittleEndian.AppendUint32(c, uint32(n))
	p.chunks[last] = append(c, row...)
	p.setRef(id, r)
	return nil
}

// Delete forgets a person's row (its room is not reused).
func (p *packedRows) Delete(id []byte) error {
	if len(id) == uuidLen {
		delete(p.byUUID, [uuidLen]byte(id))
	} else {
		delete(p.byOther, string(id))
	}
	return nil
}

// The packed encoding of a row: its strings, each a uvarint length and its
// bytes; its lists and its incomes, each a uvarint count plus one (zero for
// nil, so that nil and empty stay apart, as through the row's JSON) and
// their items, an income as its year and its amount's float64 bits; and
// Dead as one byte. TestPackedRowKeepsEveryField fails when a field of
// Facts is left out.

// packedStrings are the row's string fields, in their order in the encoding.
func packedStrings(f *Facts) [11]*string {
	return [...]*string{&f.ID, &f.FamilyName, &f.GivenName, &f.BirthDate, &f.Sex, &f.Citizenship,
		&f.Region, &f.TimeZone, &f.Address, &f.PreviousFamilyName, &f.DateOfDeath}
}

// packedLists are the row's lists, in their order in the encoding.
func packedLists(f *Facts) [4]*[]string {
	return [...]*[]string{&f.Children, &f.Parents, &f.Granted, &f.Spouses}
}

func appendPacked(b []byte, f *Facts) []byte {
	for _, s := range packedStrings(f) {
		b = appendPackedString(b, *s)
	}
	for _, l := range packedLists(f) {
		b = appendCount(b, *l == nil, len(*l))
		for _, s := range *l {
			b = appendPackedString(b, s)
		}
	}
	b = appendCount(b, f.Incomes == nil, len(f.Incomes))
	for year, amount := range f.Incomes {
		b = appendPackedString(b, year)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(amount))
	}
	if f.Dead {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendPackedString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendCount(b []byte, isNil bool, n int) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

var errPackedShort = errors.New("row ends early")

// decodePacked decodes a row with one string for all its strings and one
// slice for all its lists: a decoded row is read by a decision, or changed
// by the fold and packed again, and then dropped.
func decodePacked(b []byte) (Facts, error) {
	d := packedDecoder{b: b, s: string(b)}
	var f Facts
	for _, s := range packedStrings(&f) {
		*s = d.string()
	}
	// The lists' items are counted first, for their one backing slice.
	lists := packedLists(&f)
	var counts [len(lists)]int
	var nils [len(lists)]bool
	save, total := d.at, 0
	for i := range lists {
		counts[i], nils[i] = d.count()
		for range counts[i] {
			d.string()
		}
		total += counts[i]
	}
	if d.err != nil {
		return Facts{}, d.err
	}
	items := make([]string, total)
	d.at = save
	for i, l := range lists {
		d.count()
		if nils[i] {
			continue
		}
		// Capped at its length, so that appending to one list never
		// writes into the next.
		*l = items[:counts[i]:counts[i]]
		for j := range counts[i] {
			(*l)[j] = d.string()
		}
		items = items[counts[i]:]
	}
	if n, isNil := d.count(); !isNil {
		f.Incomes = make(map[string]float64, n)
		for range n {
			year := d.string()
			f.Incomes[year] = math.Float64frombits(d.uint64())
		}
	}
	f.Dead = d.byte() == 1
	if d.err == nil && d.at != len(b) {
		d.err = fmt.Errorf("%d bytes left over", len(b)-d.at)
	}
	return f, d.err
}

// packedDecoder reads a packed row; after an error, every read gives zero.
type packedDecoder struct {
	b   []byte
	s   string // b as a string, which the strings read are cut from
	at  int
	err error
}

func (d *packedDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.at:])
	if n <= 0 {
		d.err = errPackedShort
		return 0
	}
	d.at += n
	return v
}

func (d *packedDecoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)-d.at) {
		d.fail()
		return ""
	}
	s := d.s[d.at : d.at+int(n)]
	d.at += int(n)
	return s
}

// count reads a list's or a map's length and whether it is nil.
func (d *packedDecoder) count() (int, bool) {
	v := d.uvarint()
	if v == 0 || d.err != nil {
		return 0, true
	}
	if v-1 > uint64(len(d.b)-d.at) { // each item takes a byte at least
		d.fail()
		return 0, true
	}
	return int(v - 1), false
}

func (d *packedDecoder) uint64() uint64 {
	if d.err != nil || len(d.b)-d.at < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.at:])
	d.at += 8
	return v
}

func (d *packedDecoder) byte() byte {
	if d.err != nil || d.at >= len(d.b) {
		d.fail()
		return 0
	}
	c := d.b[d.at]
	d.at++
	return c
}

func (d *packedDecoder) fail() {
	if d.err == nil {
		d.err = errPackedShort
	}
}
