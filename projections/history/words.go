package history

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"lifesituations/domain/catalogue"
)

// Words renders an explanation as plain text a citizen's representative
// can read, in Russian (lang "ru") or English (any other).
func Words(ex Explanation, lang string) string {
	ru := lang == "ru"
	tr := func(t catalogue.Text) string {
		if ru && t.RU != "" {
			return t.RU
		}
		if t.EN != "" {
			return t.EN
		}
		return t.RU
	}
	say := func(ruText, enText string) string {
		if ru {
			return ruText
		}
		return enText
	}
	who := func(id string) string {
		if p, ok := ex.Facts[id]; ok {
			if name := strings.TrimSpace(p.FamilyName + " " + p.GivenName); name != "" {
				return name + " (" + id + ")"
			}
		}
		return id
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	line(say("Решение по услуге «%s» (%s)", "Decision on the service “%s” (%s)"), tr(ex.Step.Title), ex.Step.Service)
	line(say("Заявитель: %s", "Applicant: %s"), who(ex.Step.Applicant))
	if ex.Step.Beneficiary != "" && ex.Step.Beneficiary != ex.Step.Applicant {
		line(say("В пользу: %s", "Beneficiary: %s"), who(ex.Step.Beneficiary))
	}
	line(say("Итог решения: %s, %s. Сейчас: %s.", "Decided: %s on %s. Now: %s."),
		outcomeWord(string(ex.Decided), ru), day(ex.Step.DecidedAt), outcomeWord(string(ex.Outcome), ru))
	if g := ex.Grant; g != nil {
		line(say("Запись %s в реестре %s от %s.", "Entry %s in the registry %s, made %s."), g.EntryID, g.Registry, day(g.GrantedAt))
	}
	if w := ex.Withdrawal; w != nil {
		line(say("Отменено (%s): %s", "Withdrawn (%s): %s"), w.Reason, tr(w.Explanation))
	}
	b.WriteString("\n")

	line(say("Почему это произошло", "Why this happened"))
	t := ex.Trigger
	source := t.Source
	if source == "" {
		source = t.Actor
	}
	line(say("Событие %s из %s (id %s, записано %s, позиция %d в журнале) открыло жизненную ситуацию «%s» (%s) для %s.",
		"The event %s from %s (id %s, recorded %s, position %d of the log) opened the life situation “%s” (%s) for %s."),
		t.Type, source, t.ID, day(t.RecordedAt), t.Position, tr(ex.Situation.Title), ex.Situation.ID, who(ex.Situation.PersonID))
	if ex.Situation.EventDate != "" {
		line(say("Дата жизненного события: %s.", "Date of the life event: %s."), ex.Situation.EventDate)
	}
	line(say("Правила применены по каталогу версии %s (хэш %s); сведения реестра — по состоянию на позицию %d журнала.",
		"The rules applied are those of catalogue version %s (hash %s); the register's facts are those as of position %d of the log."),
		ex.Catalogue.Version, ex.Catalogue.Hash, ex.RegisterPosition)
	if ex.Step.LegalBasis != "" {
		line(say("Правовое основание: %s.", "Legal basis: %s."), ex.Step.LegalBasis)
	}

	if len(ex.Rules) > 0 {
		b.WriteString("\n")
		line(say("Проверенные условия:", "Conditions checked:"))
		for _, r := range ex.Rules {
			verdict := say("выполнено", "met")
			if !r.Passed {
				verdict = say("НЕ выполнено", "NOT met")
			}
			if r.LegalBasis != "" {
				line("  - %s: %s (%s)", r.Rule, verdict, r.LegalBasis)
			} else {
				line("  - %s: %s", r.Rule, verdict)
			}
		}
	}
	if len(ex.Reasons) > 0 {
		b.WriteString("\n")
		line(say("Пояснения:", "Reasons:"))
		for _, r := range ex.Reasons {
			line("  - %s", tr(r.Text))
		}
	}
	params := append(append([]catalogue.ParamUse{}, ex.SituationParameters...), ex.Parameters...)
	if len(params) > 0 {
		b.WriteString("\n")
		line(say("Использованные нормативы:", "Figures in force used:"))
		seen := map[string]bool{}
		for _, p := range params {
			k := fmt.Sprint(p.Name, p.Key, p.Value, p.ValidFrom)
			if seen[k] {
				continue
			}
			seen[k] = true
			to := p.ValidTo
			if to == "" {
				to = "…"
			}
			where := ""
			if p.Region != "" {
				where = say(", регион ", ", region ") + p.Region + " (" + p.Key + ")"
			}
			line("  - %s = %v (%s–%s%s)", p.Name, p.Value, p.ValidFrom, to, where)
		}
	}
	if len(ex.Values) > 0 {
		b.WriteString("\n")
		line(say("Вычисленные значения:", "Values computed:"))
		for _, k := range sortedKeys(ex.Values) {
			line("  - %s = %v", k, ex.Values[k])
		}
	}
	if len(ex.Facts) > 0 {
		b.WriteString("\n")
		line(say("Сведения реестра, на которые опиралось решение:", "Register facts the decision read:"))
		for _, id := range sortedKeys(ex.Facts) {
			p := ex.Facts[id]
			dead := ""
			if p.Dead {
				dead = say(", умер(ла)", ", deceased")
			}
			line(say("  - %s: дата рождения %s, гражданство %s, регион %s%s", "  - %s: born %s, citizenship %s, region %s%s"),
				who(id), p.BirthDate, p.Citizenship, p.Region, dead)
		}
	}
	b.WriteString("\n")
	line(say("Цепочка событий журнала:", "Chain of events in the log:"))
	for _, l := range ex.CausalChain {
		actor := ""
		if l.Actor != "" {
			actor = ", " + l.Actor
		}
		line("  %d. %s %s (%s, %s%s)", l.Position, l.Type, l.EventID, l.Role, day(l.RecordedAt), actor)
	}
	return b.String()
}

func outcomeWord(o string, ru bool) string {
	if !ru {
		return o
	}
	words := map[string]string{
		"granted": "предоставлено", "drafted": "подготовлено заявление", "notified": "направлено уведомление",
		"rejected": "отказано", "submitted": "заявление подано", "declined": "отклонено заявителем",
		"expired": "срок истёк", "withdrawn": "отменено",
	}
	if w, ok := words[o]; ok {
		return w
	}
	return o
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
