// Package population generates a synthetic population and the life events
// of its days, for `lifesituations bench population` and for tests that
// need many persons. It is deterministic: the same Config gives the same
// persons, ids and events, day after day, on every machine.
//
// The population has the country's proportions (see tables.go): an age
// pyramid, slightly more women than men and many more among the old, 95%
// of adults Russian citizens, persons spread over regions in seventeen
// time zones with birthdays spread over the year, children under 18 born to
// mothers of the population (and most to a known father), and an income
// report of the last year for most women of childbearing age. Each
// simulated day brings its births (about 1% of the population a year, to
// women of 18 to 44 weighted towards 29), deaths (about 1.3%, weighted
// towards old age, each reported by a spouse, a parent or another adult),
// moves between regions (2%) and marriages (0.5%, with most brides taking
// the groom's name). Age milestones are not events of a registry: the
// orchestrator's calendar derives them from the birth dates.
//
// Every event is one the orchestrator accepts (CONTRACT.md section 1):
// only the six registry types, each from the registry that owns it, about
// persons already known, with no date in the future and no child born
// before its mother.
package population

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/lifeevent"
)

// Rates are yearly rates per person of the population.
type Rates struct {
	Births    float64 // births per person per year
	Deaths    float64
	Moves     float64 // moves to another region
	Marriages float64 // marriages (of two persons) per person per year
	// IncomeReports is the share of women of 18 to 49 whose income of the
	// last year the tax registry has reported.
	IncomeReports float64
}

// DefaultRates are about the country's: 1% births, 1.3% deaths.
func DefaultRates() Rates {
	return Rates{Births: 0.010, Deaths: 0.013, Moves: 0.02, Marriages: 0.005, IncomeReports: 0.8}
}

// Config of a population.
type Config struct {
	Persons int
	Seed    uint64
	// Start is the first simulated day (its date in UTC); the population is
	// as it stood the day before, everyone born by then.
	Start time.Time
	// Rates default to DefaultRates when zero.
	Rates Rates
}

// person is one member, packed: a million of them take about 60 MB.
type person struct {
	id     uuid.UUID
	born   int32 // YYYYMMDD
	died   int32 // YYYYMMDD; 0 while alive
	mother int32 // index; -1 when not in the population
	father int32
	spouse int32
	family uint16 // index in familyNames
	given  uint16
	house  uint16
	flat   uint16
	female bool
	// citizen is an index in citizenships.
	citizen uint8
	region  uint8
}

// Population is the generated population and the state of its simulation.
// It is not safe for concurrent use.
type Population struct {
	cfg     Config
	rng     *rand.Rand
	persons []person
	alive   int
	eve     int32 // the day before Start: the population's date
	// initial is how many persons the population had before the first day.
	initial int
	// seq numbers the events and records of the simulated days.
	seq int
	// last is the last simulated day, to refuse going back.
	last int32

	regionCum, citizenCum, pyramidCum []float64
	// children counts the persons born to a mother, initial ones included.
	children, withFather int
}

// New generates the population of cfg.
func New(cfg Config) (*Population, error) {
	if cfg.Persons < 1 {
		return nil, errors.New("population: at least one person")
	}
	if cfg.Start.IsZero() {
		return nil, errors.New("population: the start day is required")
	}
	if cfg.Rates == (Rates{}) {
		cfg.Rates = DefaultRates()
	}
	start := cfg.Start.UTC()
	p := &Population{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		eve: ymd(time.Date(start.Year(), start.Month(), start.Day()-1, 0, 0, 0, 0, time.UTC)),
	}
	p.last = p.eve
	for _, r := range regions {
		p.regionCum = appendCum(p.regionCum, r.weight)
	}
	for _, c := range citizenships {
		p.citizenCum = appendCum(p.citizenCum, c.weight)
	}
	for _, b := range pyramid {
		p.pyramidCum = appendCum(p.pyramidCum, b.share)
	}
	p.generate(cfg.Persons)
	return p, nil
}

func appendCum(cum []float64, w float64) []float64 {
	if n := len(cum); n > 0 {
		w += cum[n-1]
	}
	return append(cum, w)
}

// pick draws an index from cumulative weights.
func (p *Population) pick(cum []float64) int {
	x := p.rng.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (p *Population) newID() uuid.UUID {
	var id uuid.UUID
	binary.LittleEndian.PutUint64(id[:8], p.rng.Uint64())
	binary.LittleEndian.PutUint64(id[8:], p.rng.Uint64())
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// generate draws n persons: adults first, so that every mother comes
// before her children, then children under 18, each given a mother of a
// plausible age in her region.
func (p *Population) generate(n int) {
	eve := timeOf(p.eve)
	var adults, kids []person
	for range n {
		band := pyramid[p.pick(p.pyramidCum)]
		from, to := float64(band.from)*365.2425, float64(band.to+1)*365.2425
		ageDays := int(from + p.rng.Float64()*(to-from))
		born := ymd(eve.AddDate(0, 0, -ageDays))
		age := years(p.eve, born)
		m := person{
			id: p.newID(), born: born, mother: -1, father: -1, spouse: -1,
			female: p.rng.Float64() < femaleShare(age),
			region: uint8(p.pick(p.regionCum)),
			family: uint16(p.rng.IntN(len(familyNames))),
			house:  uint16(1 + p.rng.IntN(200)), flat: uint16(1 + p.rng.IntN(300)),
		}
		m.given = p.givenName(m.female)
		if age >= 18 {
			m.citizen = uint8(p.pick(p.citizenCum))
			adults = append(adults, m)
		} else {
			kids = append(kids, m)
		}
	}
	p.persons = append(make([]person, 0, n+n/20), adults...)

	// Women and men by region and age, to find parents.
	women, men := map[int][]int32{}, map[int][]int32{}
	for i := range p.persons {
		a := &p.persons[i]
		key := bucket(int(a.region), years(p.eve, a.born))
		if a.female {
			women[key] = append(women[key], int32(i))
		} else {
			men[key] = append(men[key], int32(i))
		}
	}
	for _, k := range kids {
		age := years(p.eve, k.born)
		motherAge := age + p.motherAgeAtBirth()
		if mi := p.find(women, int(k.region), motherAge, 3); mi >= 0 {
			m := &p.persons[mi]
			k.mother, k.region, k.house, k.flat = mi, m.region, m.house, m.flat
			k.family = m.family
			if p.rng.Float64() < 0.8 {
				if fi := p.find(men, int(m.region), motherAge+p.rng.IntN(6), 3); fi >= 0 {
					k.father, k.family = fi, p.persons[fi].family
				}
			}
			k.citizen = p.childCitizenship(k.mother, k.father)
			p.children++
			if k.father >= 0 {
				p.withFather++
			}
		} else {
			k.citizen = uint8(p.pick(p.citizenCum))
		}
		p.persons = append(p.persons, k)
	}
	p.alive, p.initial = len(p.persons), len(p.persons)
}

func bucket(region, age int) int { return region<<8 | age }

// find draws someone of about that age from the buckets: the region first,
// then up to spread years either side, then any region.
func (p *Population) find(buckets map[int][]int32, region, age, spread int) int32 {
	for d := 0; d <= spread; d++ {
		for _, a := range []int{age + d, age - d} {
			if l := buckets[bucket(region, a)]; len(l) > 0 {
				return l[p.rng.IntN(len(l))]
			}
		}
	}
	for range 8 {
		if l := buckets[bucket(p.pick(p.regionCum), age)]; len(l) > 0 {
			return l[p.rng.IntN(len(l))]
		}
	}
	return -1
}

// motherAgeAtBirth: 18 to 42, most often late twenties.
func (p *Population) motherAgeAtBirth() int {
	a := int(math.Round(28 + 5*p.rng.NormFloat64()))
	return min(max(a, 18), 42)
}

func (p *Population) givenName(female bool) uint16 {
	if female {
		return uint16(p.rng.IntN(len(femaleNames)))
	}
	return uint16(p.rng.IntN(len(maleNames)))
}

// childCitizenship: Russian with a Russian parent, else the mother's.
func (p *Population) childCitizenship(mother, father int32) uint8 {
	if p.persons[mother].citizen == 0 || father >= 0 && p.persons[father].citizen == 0 {
		return 0
	}
	return p.persons[mother].citizen
}

// Len is the number of persons ever in the population, the dead and the
// newborn included.
func (p *Population) Len() int { return len(p.persons) }

// Alive is the number of living persons.
func (p *Population) Alive() int { return p.alive }

// ID is the id of the i-th person.
func (p *Population) ID(i int) uuid.UUID { return p.persons[i].id }

// Initial yields the events that register the population as it stood on
// the day before Start: person.registered for each adult, birth.registered
// for each child with a mother in the population (after her), and the tax
// registry's income reports of the last year. Every event is dated the
// day before Start. The events are the same whenever and however often
// Initial is called.
func (p *Population) Initial() iter.Seq[Event] {
	return func(yield func(Event) bool) {
		at := timeOf(p.eve).Add(20 * time.Hour)
		for i := range p.initial {
			m := &p.persons[i]
			id := p.sourceID("person", i)
			var e Event
			if m.mother >= 0 {
				e = p.birthEvent(int32(i), id, p.recordNumber(m.region, m.born, i), at)
			} else {
				e = p.registered(int32(i), id, at)
			}
			if !yield(e) {
				return
			}
		}
		// A generator of its own, so that the reports do not depend on
		// when Initial runs.
		rng := rand.New(rand.NewPCG(p.cfg.Seed+1, p.cfg.Seed^0x51ed270b27a1f3c9))
		year := timeOf(p.eve).Year()
		for i := range p.initial {
			m := &p.persons[i]
			age := years(p.eve, m.born)
			if !m.female || age < 18 || age > 49 {
				continue
			}
			draw, noise := rng.Float64(), rng.NormFloat64()
			if draw >= p.cfg.Rates.IncomeReports {
				continue
			}
			income := math.Round(math.Exp(math.Log(550_000)+0.6*noise)/1000) * 1000
			if !yield(p.event(lifeevent.SourceTax, p.sourceID("income", i), lifeevent.IncomeReported, m.id, m.id, at,
				lifeevent.IncomeReportedData{PersonID: m.id, Year: year, AnnualIncomeRUB: income})) {
				return
			}
		}
	}
}

func (p *Population) registered(i int32, id string, at time.Time) Event {
	m := &p.persons[i]
	return p.event(lifeevent.SourcePopulation, id, lifeevent.PersonRegistered, m.id, m.id, at, lifeevent.PersonRegisteredData{
		PersonID: m.id, FamilyName: p.familyName(m), GivenName: p.given(m), BirthDate: dateOf(m.born),
		Sex: sex(m), Citizenship: citizenships[m.citizen].code, Region: regions[m.region].code,
		TimeZone: regions[m.region].zone, Address: p.address(m),
	})
}

// birthEvent is the civil registry's record of the birth of child i.
func (p *Population) birthEvent(i int32, id, record string, at time.Time) Event {
	c := &p.persons[i]
	mother := &p.persons[c.mother]
	d := lifeevent.BirthRegisteredData{
		RecordNumber:    record,
		ChildID:         c.id,
		ChildFamilyName: p.familyName(c), ChildGivenName: p.given(c),
		BirthDate: dateOf(c.born), Sex: sex(c), MotherID: mother.id,
		Region: regions[c.region].code, TimeZone: regions[c.region].zone, Address: p.address(c),
	}
	if c.father >= 0 {
		f := p.persons[c.father].id
		d.FatherID = &f
	}
	return p.event(lifeevent.SourceCivilStatus, id, lifeevent.BirthRegistered, c.id, mother.id, at, d)
}

// recordNumber is a civil registry's record number: the region's code,
// the year and a number.
func (p *Population) recordNumber(region uint8, date int32, n int) string {
	return fmt.Sprintf("%02d0-%d-%08d", regions[region].number, date/10000, n)
}

// sourceID is an event's id at its registry: unique per population seed.
func (p *Population) sourceID(kind string, n int) string {
	return "synthetic-" + strconv.FormatUint(p.cfg.Seed, 10) + "-" + kind + "-" + strconv.Itoa(n)
}

// next numbers the events and records of the simulated days.
func (p *Population) next() int {
	p.seq++
	return p.seq
}

func (p *Population) event(source, id string, t lifeevent.Type, subject, applicant uuid.UUID, at time.Time, data any) Event {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(fmt.Sprintf("population: marshal %s: %v", t, err)) // the payload types always marshal
	}
	return Event{Source: source, ID: id, Type: t, Subject: subject.String(), Time: at, Data: raw, Applicant: applicant.String()}
}

func (p *Population) familyName(m *person) string {
	if m.female {
		return familyNames[m.family][1]
	}
	return familyNames[m.family][0]
}

func (p *Population) given(m *person) string {
	if m.female {
		return femaleNames[m.given]
	}
	return maleNames[m.given]
}

func (p *Population) address(m *person) string {
	r := regions[m.region]
	return fmt.Sprintf("%s, %s, д. %d, кв. %d", r.city, streets[int(m.house)%len(streets)], m.house, m.flat)
}

func sex(m *person) lifeevent.Sex {
	if m.female {
		return lifeevent.SexFemale
	}
	return lifeevent.SexMale
}

// Dates are packed as YYYYMMDD: comparing two compares the dates, and
// (later-earlier)/10000 is the age in whole years.

func ymd(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(y*10000 + int(m)*100 + d)
}

func timeOf(v int32) time.Time {
	return time.Date(int(v/10000), time.Month(v/100%100), int(v%100), 0, 0, 0, 0, time.UTC)
}

func dateOf(v int32) lifeevent.Date {
	return lifeevent.Date{Year: int(v / 10000), Month: time.Month(v / 100 % 100), Day: int(v % 100)}
}

// years is the age in whole years on day of someone born on born.
func years(day, born int32) int { return int(day-born) / 10000 }
