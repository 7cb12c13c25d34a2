package register

import (
	"strconv"

	"lifesituations/domain/lifeevent"
)

// applyLife folds one registry fact into the batch.
func (b *batch) applyLife(p lifeevent.Payload) error {
	switch d := p.(type) {
	case *lifeevent.PersonRegisteredData:
		return b.registered(d)
	case *lifeevent.BirthRegisteredData:
		return b.born(d)
	case *lifeevent.ResidenceChangedData:
		return b.moved(d)
	case *lifeevent.MarriageRegisteredData:
		return b.married(d)
	case *lifeevent.DeathRegisteredData:
		return b.died(d)
	case *lifeevent.IncomeReportedData:
		return b.income(d)
	}
	return nil
}

func (b *batch) registered(d *lifeevent.PersonRegisteredData) error {
	f, err := b.create(d.PersonID.String())
	if err != nil {
		return err
	}
	f.FamilyName, f.GivenName = d.FamilyName, d.GivenName
	f.BirthDate, f.Sex = d.BirthDate.String(), string(d.Sex)
	f.Citizenship, f.Region = d.Citizenship, d.Region
	f.TimeZone, f.Address = d.TimeZone, d.Address
	return nil
}

func (b *batch) born(d *lifeevent.BirthRegisteredData) error {
	childID, motherID := d.ChildID.String(), d.MotherID.String()
	parents := []string{motherID}
	if d.FatherID != nil {
		parents = append(parents, d.FatherID.String())
	}
	child, err := b.create(childID)
	if err != nil {
		return err
	}
	child.FamilyName, child.GivenName = d.ChildFamilyName, d.ChildGivenName
	child.BirthDate, child.Sex = d.BirthDate.String(), string(d.Sex)
	child.Region, child.TimeZone, child.Address = d.Region, d.TimeZone, d.Address
	var citizenships []string
	for _, id := range parents {
		child.Parents = addUnique(child.Parents, id)
		parent, err := b.edit(id)
		if err != nil {
			return err
		}
		if parent == nil {
			continue
		}
		parent.Children = addUnique(parent.Children, childID)
		citizenships = append(citizenships, parent.Citizenship)
	}
	if child.Citizenship == "" {
		child.Citizenship = citizenshipByBirth(citizenships)
	}
	return nil
}

// citizenshipByBirth: the birth record names no citizenship. A child with a
// Russian parent is Russian by birth (Federal Law 138-FZ, art. 12);
// otherwise the child takes the mother's (the first parent's).
func citizenshipByBirth(parents []string) string {
	for _, c := range parents {
		if c == "RU" {
			return c
		}
	}
	if len(parents) > 0 {
		return parents[0]
	}
	return ""
}

func (b *batch) moved(d *lifeevent.ResidenceChangedData) error {
	f, err := b.edit(d.PersonID.String())
	if f == nil || err != nil {
		return err
	}
	f.Region, f.Address = d.ToRegion, d.Address
	if d.TimeZone != "" {
		f.TimeZone = d.TimeZone
	}
	return nil
}

func (b *batch) married(d *lifeevent.MarriageRegisteredData) error {
	for i, spouse := range d.SpouseIDs {
		f, err := b.edit(spouse.String())
		if err != nil {
			return err
		}
		if f == nil {
			continue
		}
		f.Spouses = addUnique(f.Spouses, d.SpouseIDs[1-i].String())
		if name, ok := d.NewFamilyNames[spouse]; ok && name != "" {
			// The marriage's own decisions read the register with the new
			// name: they find the old one here.
			f.PreviousFamilyName, f.FamilyName = f.FamilyName, name
		}
	}
	return nil
}

func (b *batch) died(d *lifeevent.DeathRegisteredData) error {
	f, err := b.edit(d.PersonID.String())
	if f == nil || err != nil {
		return err
	}
	f.Dead, f.DateOfDeath = true, d.DateOfDeath.String()
	return nil
}

func (b *batch) income(d *lifeevent.IncomeReportedData) error {
	f, err := b.edit(d.PersonID.String())
	if f == nil || err != nil {
		return err
	}
	if f.Incomes == nil {
		f.Incomes = map[string]float64{}
	}
	// A later report for the same year corrects the earlier one.
	f.Incomes[strconv.Itoa(d.Year)] = d.AnnualIncomeRUB
	return nil
}
