package cabinet

import (
	"strings"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
)

// outcomeText tells in plain words what a step's new outcome means for the
// citizen.
func outcomeText(eventType string, st *situation.Step) catalogue.Text {
	ru, en := "«"+st.Decision.Title.RU+"»", "“"+st.Decision.Title.EN+"”"
	switch st.Outcome {
	case catalogue.OutcomeGranted:
		if eventType == situation.TypeApplicationDecided {
			return catalogue.Text{RU: ru + ": заявление одобрено.", EN: en + ": your application was approved."}
		}
		return catalogue.Text{RU: ru + ": оформлено автоматически, заявление не нужно.",
			EN: en + ": done for you automatically, no application needed."}
	case catalogue.OutcomeDrafted:
		t := catalogue.Text{RU: ru + ": заявление заполнено за вас. Проверьте его и подтвердите",
			EN: en + ": the application has been filled in for you. Check it and confirm it"}
		if st.Decision.Deadline != "" {
			dru, den := spoken(st.Decision.Deadline)
			t.RU, t.EN = t.RU+" до "+dru, t.EN+" by "+den
		}
		return catalogue.Text{RU: t.RU + ".", EN: t.EN + "."}
	case situation.OutcomeSubmitted:
		return catalogue.Text{RU: ru + ": заявление подтверждено и передано в ведомство.",
			EN: en + ": your application was confirmed and sent to the agency."}
	case catalogue.OutcomeNotified:
		if len(st.Reasons) == 0 {
			return catalogue.Text{RU: ru + ": информация для вас.", EN: en + ": for your information."}
		}
		why := joinReasons(st.Reasons)
		return catalogue.Text{RU: ru + ": " + why.RU, EN: en + ": " + why.EN}
	case catalogue.OutcomeRejected:
		if len(st.Reasons) == 0 {
			return catalogue.Text{RU: ru + ": отказано.", EN: en + ": refused."}
		}
		why := joinReasons(failed(st.Reasons))
		return catalogue.Text{RU: ru + ": отказано. Причина: " + why.RU, EN: en + ": refused. Reason: " + why.EN}
	case situation.OutcomeDeclined:
		return catalogue.Text{RU: ru + ": вы отказались от заявления.", EN: en + ": you declined the application."}
	case situation.OutcomeExpired:
		t := catalogue.Text{RU: ru + ": срок подтверждения заявления истёк", EN: en + ": the time to confirm the application ran out"}
		if st.Decision.Deadline != "" {
			dru, den := spoken(st.Decision.Deadline)
			t.RU, t.EN = t.RU+" "+dru, t.EN+" on "+den
		}
		return catalogue.Text{RU: t.RU + ".", EN: t.EN + "."}
	case situation.OutcomeWithdrawn:
		if w := st.Withdrawal; w != nil && w.Explanation.RU != "" && w.Explanation.EN != "" {
			return catalogue.Text{RU: ru + ": " + w.Explanation.RU, EN: en + ": " + w.Explanation.EN}
		}
		if st.Grant != nil && st.Grant.Withdrawn {
			return catalogue.Text{RU: ru + ": вы отказались от услуги, запись в реестре отозвана.",
				EN: en + ": withdrawn as you asked; the registry entry was revoked."}
		}
		return catalogue.Text{RU: ru + ": заявление отменено, подтверждать его больше не нужно.",
			EN: en + ": the application was cancelled; there is nothing more to confirm."}
	}
	return catalogue.Text{RU: ru + ": " + string(st.Outcome) + ".", EN: en + ": " + string(st.Outcome) + "."}
}

// reminderText reminds of an open draft's deadline.
func reminderText(st *situation.Step, deadline string) catalogue.Text {
	dru, den := spoken(deadline)
	return catalogue.Text{
		RU: "Напоминание: подтвердите заявление «" + st.Decision.Title.RU + "» до " + dru + ".",
		EN: "Reminder: confirm the application “" + st.Decision.Title.EN + "” by " + den + ".",
	}
}

// failed keeps the failed rules among reasons, or all of them when none
// is a rule (an agency's refusal may give only notes).
func failed(rs []catalogue.Reason) []catalogue.Reason {
	var out []catalogue.Reason
	for _, r := range rs {
		if r.Kind == catalogue.ReasonRule {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return rs
	}
	return out
}

// joinReasons puts every reason in one sentence per language, each ending
// with a full stop.
func joinReasons(rs []catalogue.Reason) catalogue.Text {
	var ru, en []string
	for _, r := range rs {
		ru, en = append(ru, sentence(r.Text.RU)), append(en, sentence(r.Text.EN))
	}
	return catalogue.Text{RU: strings.Join(ru, " "), EN: strings.Join(en, " ")}
}

func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}
