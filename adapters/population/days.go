package population

import (
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/lifeevent"
)

// Kind is a kind of simulated life event.
type Kind int

const (
	Birth Kind = iota
	Death
	Move
	Marriage
)

func (k Kind) String() string {
	switch k {
	case Birth:
		return "birth"
	case Death:
		return "death"
	case Move:
		return "move"
	default:
		return "marriage"
	}
}

// Day simulates one day and returns its registry events: births (each
// registered up to four days after it happened), marriages and deaths from
// the civil registry, then moves from the residence registry. The counts
// are the yearly rates spread over the days, applied to the living. Days
// go forward: a day already simulated is refused.
//
// The events are timed in the morning of the day, 09:00 UTC onwards; the
// orchestrator accepts them once its clock has reached that time (less its
// allowed skew), e.g. at noon UTC of the day.
func (p *Population) Day(day time.Time) ([]Event, error) {
	d := ymd(day.UTC())
	if d <= p.last {
		return nil, fmt.Errorf("population: %s is simulated already (last day %s)", dateOf(d), dateOf(p.last))
	}
	p.last = d
	r := p.cfg.Rates
	counts := map[Kind]int{
		Birth: p.perDay(r.Births), Marriage: p.perDay(r.Marriages),
		Death: p.perDay(r.Deaths), Move: p.perDay(r.Moves),
	}
	s := p.newDay(d)
	var out []Event
	for _, k := range []Kind{Birth, Marriage, Death, Move} {
		for range counts[k] {
			if e, ok := s.event(k); ok {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// Events returns n more events of the last simulated day (or of the day
// before Start when none was), their kinds drawn in the proportions of the
// rates: a burst of registry traffic on a day.
func (p *Population) Events(n int) []Event {
	r := p.cfg.Rates
	cum := []float64{r.Births, r.Births + r.Deaths, r.Births + r.Deaths + r.Moves, r.Births + r.Deaths + r.Moves + r.Marriages}
	s := p.newDay(p.last)
	out := make([]Event, 0, n)
	for len(out) < n {
		if e, ok := s.event(Kind(p.pick(cum))); ok {
			out = append(out, e)
		}
	}
	return out
}

// perDay draws the number of events of a day at a yearly rate.
func (p *Population) perDay(rate float64) int {
	x := float64(p.alive) * rate / 365
	n := int(x)
	if p.rng.Float64() < x-float64(n) {
		n++
	}
	return n
}

// day is the simulation of one day: a person takes part in at most one
// event of it, and those born on it in none.
type day struct {
	p     *Population
	d     int32
	n0    int // persons before the day
	busy  map[int32]bool
	clock time.Time
}

func (p *Population) newDay(d int32) *day {
	return &day{p: p, d: d, n0: len(p.persons), busy: map[int32]bool{}, clock: timeOf(d).Add(9 * time.Hour)}
}

func (s *day) event(k Kind) (Event, bool) {
	// Registries send in the course of the morning, a second apart.
	s.clock = s.clock.Add(time.Second)
	switch k {
	case Birth:
		return s.birth()
	case Death:
		return s.death()
	case Move:
		return s.move()
	default:
		return s.marriage()
	}
}

// sample draws a person with a probability proportional to weight (at
// most 1), or -1 when tries draws found nobody.
func (s *day) sample(tries int, weight func(i int32, m *person) float64) int32 {
	for range tries {
		i := int32(s.p.rng.IntN(s.n0))
		m := &s.p.persons[i]
		if m.died != 0 || s.busy[i] {
			continue
		}
		if w := weight(i, m); w > 0 && (w >= 1 || s.p.rng.Float64() < w) {
			s.busy[i] = true
			return i
		}
	}
	return -1
}

func (s *day) age(m *person) int { return years(s.d, m.born) }

// daysBefore is the day n days before the simulated one.
func (s *day) daysBefore(n int) int32 { return ymd(timeOf(s.d).AddDate(0, 0, -n)) }

func (s *day) birth() (Event, bool) {
	p := s.p
	mi := s.sample(200_000, func(_ int32, m *person) float64 {
		age := s.age(m)
		if !m.female || age < 18 || age > 44 {
			return 0
		}
		return math.Exp(-0.5 * math.Pow(float64(age-29)/5.5, 2))
	})
	if mi < 0 {
		return Event{}, false
	}
	mother := p.persons[mi]
	father := int32(-1)
	if mother.spouse >= 0 && p.persons[mother.spouse].died == 0 && p.rng.Float64() < 0.95 {
		father = mother.spouse
	} else if p.rng.Float64() < 0.6 {
		father = s.sample(5_000, func(_ int32, m *person) float64 {
			age := s.age(m)
			if m.female || m.region != mother.region || age < 18 || age > 60 {
				return 0
			}
			return 1
		})
	}
	child := person{
		id: p.newID(), born: s.daysBefore(p.rng.IntN(5)), died: 0, mother: mi, father: father, spouse: -1,
		family: mother.family, female: p.rng.Float64() < 0.488,
		house: mother.house, flat: mother.flat, region: mother.region,
	}
	if father >= 0 {
		child.family = p.persons[father].family
	}
	child.given = p.givenName(child.female)
	p.persons = append(p.persons, child)
	ci := int32(len(p.persons) - 1)
	p.persons[ci].citizen = p.childCitizenship(mi, father)
	p.alive++
	p.children++
	if father >= 0 {
		p.withFather++
	}
	n := p.next()
	return p.birthEvent(ci, p.sourceID("birth", n), p.recordNumber(child.region, child.born, n), s.clock), true
}

func (s *day) death() (Event, bool) {
	p := s.p
	i := s.sample(1_000_000, func(_ int32, m *person) float64 {
		// Gompertz: the risk of dying doubles about every nine years.
		return math.Exp(0.075 * float64(s.age(m)-100))
	})
	if i < 0 {
		return Event{}, false
	}
	m := &p.persons[i]
	informant := int32(-1)
	for _, rel := range []int32{m.spouse, m.mother, m.father} {
		if rel >= 0 && p.persons[rel].died == 0 && !s.busy[rel] {
			informant = rel
			s.busy[rel] = true
			break
		}
	}
	if informant < 0 {
		// A relative the registers do not link, or a social worker: an
		// adult of the region.
		adult := func(region bool) func(int32, *person) float64 {
			return func(j int32, o *person) float64 {
				if j == i || s.age(o) < 18 || region && o.region != m.region {
					return 0
				}
				return 1
			}
		}
		if informant = s.sample(20_000, adult(true)); informant < 0 {
			informant = s.sample(20_000, adult(false))
		}
	}
	if informant < 0 {
		delete(s.busy, i)
		return Event{}, false
	}
	died := max(s.daysBefore(p.rng.IntN(3)), m.born)
	m.died = died
	p.alive--
	if m.spouse >= 0 {
		p.persons[m.spouse].spouse = -1
	}
	n := p.next()
	return p.event(lifeevent.SourceCivilStatus, p.sourceID("death", n), lifeevent.DeathRegistered, m.id, p.persons[informant].id, s.clock,
		lifeevent.DeathRegisteredData{
			RecordNumber: p.recordNumber(m.region, died, n), PersonID: m.id, DateOfDeath: dateOf(died),
			InformantID: p.persons[informant].id, Region: regions[m.region].code,
		}), true
}

func (s *day) move() (Event, bool) {
	p := s.p
	i := s.sample(100_000, func(_ int32, m *person) float64 {
		switch age := s.age(m); {
		case age < 18 || age > 80:
			return 0
		case age < 40:
			return 1
		default:
			return 0.4
		}
	})
	if i < 0 {
		return Event{}, false
	}
	m := &p.persons[i]
	from := m.region
	for m.region == from {
		m.region = uint8(p.pick(p.regionCum))
	}
	m.house, m.flat = uint16(1+p.rng.IntN(200)), uint16(1+p.rng.IntN(300))
	to := regions[m.region]
	return p.event(lifeevent.SourceResidence, p.sourceID("move", p.next()), lifeevent.ResidenceChanged, m.id, m.id, s.clock,
		lifeevent.ResidenceChangedData{
			PersonID: m.id, FromRegion: regions[from].code, ToRegion: to.code, Address: p.address(m),
			TimeZone: to.zone, EffectiveDate: dateOf(s.d),
		}), true
}

func (s *day) marriage() (Event, bool) {
	p := s.p
	wi := s.sample(100_000, func(_ int32, m *person) float64 {
		if age := s.age(m); !m.female || m.spouse >= 0 || age < 20 || age > 45 {
			return 0
		}
		return 1
	})
	if wi < 0 {
		return Event{}, false
	}
	w := &p.persons[wi]
	groom := func(region bool) func(int32, *person) float64 {
		return func(_ int32, m *person) float64 {
			if age := s.age(m); m.female || m.spouse >= 0 || age < 22 || age > 55 || region && m.region != w.region {
				return 0
			}
			return 1
		}
	}
	mi := s.sample(30_000, groom(true))
	if mi < 0 {
		mi = s.sample(30_000, groom(false))
	}
	if mi < 0 {
		delete(s.busy, wi)
		return Event{}, false
	}
	m := &p.persons[mi]
	w.spouse, m.spouse = mi, wi
	names := map[uuid.UUID]string{}
	switch x := p.rng.Float64(); {
	case x < 0.75 && w.family != m.family:
		w.family = m.family
		names[w.id] = p.familyName(w)
	case x > 0.98 && w.family != m.family:
		m.family = w.family
		names[m.id] = p.familyName(m)
	}
	spouses := [2]uuid.UUID{w.id, m.id}
	if p.rng.IntN(2) == 1 {
		spouses = [2]uuid.UUID{m.id, w.id}
	}
	n := p.next()
	d := lifeevent.MarriageRegisteredData{
		RecordNumber: p.recordNumber(w.region, s.d, n), SpouseIDs: spouses, Date: dateOf(s.d),
	}
	if len(names) > 0 {
		d.NewFamilyNames = names
	}
	return p.event(lifeevent.SourceCivilStatus, p.sourceID("marriage", n), lifeevent.MarriageRegistered, spouses[0], spouses[0], s.clock, d), true
}

// Milestones counts the ages in ages reached from from to to (dates,
// inclusive) by persons alive on the day: what the calendar should fire.
// Someone born on 29 February reaches an age on 28 February in a common
// year.
func (p *Population) Milestones(from, to time.Time, ages []int) int {
	lo, hi := ymd(from.UTC()), ymd(to.UTC())
	n := 0
	for i := range p.persons {
		m := &p.persons[i]
		for _, a := range ages {
			at := m.born + int32(a)*10000
			if at%10000 == 229 && !leap(int(at/10000)) {
				at--
			}
			if at >= lo && at <= hi && (m.died == 0 || m.died > at) {
				n++
			}
		}
	}
	return n
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// Summary describes the population as it stands.
type Summary struct {
	Persons, Alive int
	// Children: persons with a mother in the population; WithFather those
	// with a known father too.
	Children, WithFather int
	Women                float64 // share of the living
	Minors, Elderly      float64 // shares under 18 and 65 or over
	RussianAdults        float64 // share of living adults with Russian citizenship
	Regions, TimeZones   int
}

// Summary of the population on its last simulated day.
func (p *Population) Summary() Summary {
	s := Summary{Persons: len(p.persons), Alive: p.alive, Children: p.children, WithFather: p.withFather}
	var women, minors, elderly, adults, russians int
	regionSeen, zoneSeen := map[uint8]bool{}, map[string]bool{}
	for i := range p.persons {
		m := &p.persons[i]
		if m.died != 0 {
			continue
		}
		age := years(p.last, m.born)
		if m.female {
			women++
		}
		switch {
		case age < 18:
			minors++
		case age >= 65:
			elderly++
		}
		if age >= 18 {
			adults++
			if m.citizen == 0 {
				russians++
			}
		}
		regionSeen[m.region] = true
		zoneSeen[regions[m.region].zone] = true
	}
	share := func(n, of int) float64 {
		if of == 0 {
			return 0
		}
		return float64(n) / float64(of)
	}
	s.Women, s.Minors, s.Elderly = share(women, p.alive), share(minors, p.alive), share(elderly, p.alive)
	s.RussianAdults = share(russians, adults)
	s.Regions, s.TimeZones = len(regionSeen), len(zoneSeen)
	return s
}

func (s Summary) String() string {
	return fmt.Sprintf("%d persons (%d alive): %.1f%% women, %.1f%% under 18, %.1f%% 65 or over; %.1f%% of adults Russian citizens; "+
		"%d with their mother in the population (%d with a father too); %d regions in %d time zones",
		s.Persons, s.Alive, 100*s.Women, 100*s.Minors, 100*s.Elderly, 100*s.RussianAdults,
		s.Children, s.WithFather, s.Regions, s.TimeZones)
}
