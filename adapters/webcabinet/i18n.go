package webcabinet

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"lifesituations/domain/catalogue"
)

// lang is the language of a page: Russian or English.
type lang string

const (
	ru lang = "ru"
	en lang = "en"
)

// langCookie remembers a language chosen with the switch in the header.
const langCookie = "ls_lang"

// chooseLang picks the page's language: the one chosen with the switch
// (?lang= or its cookie), else the browser's first preference of Russian
// and English by Accept-Language, else Russian.
func chooseLang(r *http.Request) lang {
	if l, ok := parseLang(r.URL.Query().Get("lang")); ok {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(c.Value); ok {
			return l
		}
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}

func parseLang(s string) (lang, bool) {
	switch strings.ToLower(s) {
	case "ru":
		return ru, true
	case "en":
		return en, true
	}
	return "", false
}

// acceptLanguage reads an Accept-Language header (RFC 9110 section
// 12.5.4): the supported language of the highest weight, the earliest of
// equal weights; Russian when neither is acceptable.
func acceptLanguage(header string) lang {
	type pref struct {
		l     lang
		q     float64
		order int
	}
	var prefs []pref
	for i, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
		l, ok := parseLang(primary)
		if !ok {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if v, found := strings.CutPrefix(strings.TrimSpace(p), "q="); found {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			prefs = append(prefs, pref{l, q, i})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	if len(prefs) == 0 {
		return ru
	}
	return prefs[0].l
}

// pick chooses a catalogue text's language, falling back to the other one.
func (l lang) pick(t catalogue.Text) string {
	if l == en && t.EN != "" || t.RU == "" {
		return t.EN
	}
	return t.RU
}

// text is one message in both languages.
type text struct{ ru, en string }

func (l lang) msg(key string, args ...any) string {
	t, ok := messages[key]
	if !ok {
		return key
	}
	s := t.ru
	if l == en {
		s = t.en
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// messages are the pages' words. Plain language: short sentences, what
// happened and what to do.
var messages = map[string]text{
	"site.name":      {"Жизненные ситуации", "Life situations"},
	"site.tagline":   {"Госуслуги приходят сами", "Public services that come to you"},
	"skip":           {"Перейти к содержанию", "Skip to main content"},
	"nav.label":      {"Разделы кабинета", "Cabinet sections"},
	"nav.situations": {"Ситуации", "Situations"},
	"nav.grants":     {"Оформлено", "Granted"},
	"nav.notify":     {"Уведомления", "Notifications"},
	"signedInAs":     {"Вы вошли как %s", "Signed in as %s"},
	"signout":        {"Выйти", "Sign out"},
	"lang.other":     {"English", "Русский"},
	"lang.label":     {"Switch to English", "Перейти на русский"},
	"footer":         {"Вопрос по услуге? Обратитесь к ответственному, указанному рядом с ней.", "A question about a service? Contact the official named next to it."},

	"signin.title":      {"Вход в кабинет", "Sign in to your cabinet"},
	"signin.devIntro":   {"Режим разработки: выберите человека из реестра, чтобы увидеть его кабинет. На рабочем сервере вход — через поставщика удостоверений (ЕСИА).", "Development mode: choose a person from the register to see their cabinet. On a production server you sign in through the identity provider."},
	"signin.choose":     {"Выберите человека", "Choose a person"},
	"signin.nobody":     {"В реестре пока никого нет. Отправьте события реестров (см. README) и обновите страницу.", "The register is empty. Send registry events (see the README) and reload this page."},
	"signin.born":       {"дата рождения: %s", "born %s"},
	"signin.byID":       {"Или введите идентификатор человека", "Or enter a person's identifier"},
	"signin.byIDHint":   {"Например, d0000000-0000-4000-8000-000000000001", "For example, d0000000-0000-4000-8000-000000000001"},
	"signin.submit":     {"Войти", "Sign in"},
	"signin.prodIntro":  {"Войдите через поставщика удостоверений (ЕСИА). Он выдаст токен доступа: вставьте его сюда.", "Sign in through the identity provider. It gives you an access token: paste it here."},
	"signin.token":      {"Токен доступа", "Access token"},
	"signin.tokenHint":  {"Длинная строка из трёх частей, разделённых точками.", "A long string of three parts separated by dots."},
	"signin.expired":    {"Сеанс завершён. Войдите снова.", "Your session has ended. Please sign in again."},
	"signin.unknown":    {"В реестре нет человека с таким идентификатором. Проверьте его.", "There is no person with this identifier in the register. Check it."},
	"signin.empty":      {"Введите идентификатор человека.", "Enter a person's identifier."},
	"signin.noToken":    {"Вставьте токен доступа.", "Paste your access token."},
	"signin.badToken":   {"Токен не принят: %s.", "The token was not accepted: %s."},
	"signin.notCitizen": {"Этот токен выдан не гражданину (роль %s). Кабинет — для граждан.", "This token is not a citizen's (role %s). The cabinet is for citizens."},
	"signin.stale":      {"Страница входа устарела. Попробуйте ещё раз.", "The sign-in page was out of date. Please try again."},

	"home.title":       {"Ваши жизненные ситуации", "Your life situations"},
	"home.intro":       {"Когда в вашей жизни что-то происходит, госорганы сами оформляют то, что положено. Здесь видно, что уже сделано и что ждёт вашего решения.", "When something happens in your life, the agencies do what is due by themselves. Here you see what is done and what waits for your decision."},
	"home.waiting":     {"Ждут вашего решения", "Waiting for your decision"},
	"home.waitingItem": {"подтвердите до %s", "confirm by %s"},
	"home.nothing":     {"Пока здесь ничего нет. Когда реестр сообщит о событии в вашей жизни, оно появится здесь.", "Nothing here yet. When a registry reports an event in your life, it appears here."},
	"home.latest":      {"Последние уведомления", "Latest notifications"},
	"home.allNotes":    {"Все уведомления", "All notifications"},

	"situation.opened":    {"Открыта %s", "Opened %s"},
	"situation.event":     {"Событие: %s", "Event: %s"},
	"situation.open":      {"В работе", "In progress"},
	"situation.completed": {"Завершена", "Completed"},
	"situation.more":      {"Подробнее и оценка", "Details and rating"},
	"situation.steps":     {"Что сделано и что дальше", "What is done and what comes next"},

	"step.deadline":     {"Срок", "Deadline"},
	"step.curator":      {"Отвечает", "Responsible"},
	"step.basis":        {"Основание", "Legal basis"},
	"step.openDraft":    {"Проверить и подтвердить", "Check and confirm"},
	"step.seeDraft":     {"Заявление", "The application"},
	"step.seeGrant":     {"Запись в реестре", "The registry entry"},
	"outcome.granted":   {"Оформлено", "Done"},
	"outcome.drafted":   {"Ждёт вашего подтверждения", "Waiting for your confirmation"},
	"outcome.submitted": {"Передано в ведомство", "Sent to the agency"},
	"outcome.rejected":  {"Отказано", "Refused"},
	"outcome.notified":  {"Для сведения", "For your information"},
	"outcome.declined":  {"Вы отказались", "You declined"},
	"outcome.expired":   {"Срок истёк", "Time ran out"},
	"outcome.withdrawn": {"Отменено", "Withdrawn"},

	"back.situations": {"← Ко всем ситуациям", "← All situations"},
	"back.grants":     {"← Ко всему оформленному", "← Everything granted"},

	"draft.status.open":      {"Ждёт вашего подтверждения", "Waiting for your confirmation"},
	"draft.status.confirmed": {"Подтверждено", "Confirmed"},
	"draft.status.declined":  {"Вы отказались", "You declined"},
	"draft.status.expired":   {"Срок подтверждения истёк", "The time to confirm ran out"},
	"draft.status.withdrawn": {"Отменено", "Withdrawn"},
	"draft.confirmBy":        {"Подтвердите до %s включительно.", "Confirm by %s (inclusive)."},
	"draft.prefilled":        {"Что заполнено за вас", "Filled in for you"},
	"draft.prefilledHint":    {"Эти сведения взяты из государственных реестров. Если в них ошибка, сообщите куратору услуги.", "These facts come from the public registers. If one is wrong, tell the service's curator."},
	"draft.check":            {"Проверьте и подтвердите", "Check and confirm"},
	"draft.checkHint":        {"Эти поля можно исправить или дополнить. Оставьте как есть, если всё верно.", "You may correct or complete these fields. Leave them as they are if they are right."},
	"draft.nothingToCorrect": {"Здесь нечего исправлять: достаточно подтвердить.", "There is nothing to correct here: just confirm."},
	"draft.confirm":          {"Подтвердить заявление", "Confirm the application"},
	"draft.declineTitle":     {"Не нужно?", "Not needed?"},
	"draft.declineHint":      {"Если услуга вам не нужна, откажитесь. Отказ нельзя отменить.", "If you do not need the service, decline it. A refusal cannot be undone."},
	"draft.reason":           {"Почему (необязательно)", "Why (optional)"},
	"draft.decline":          {"Отказаться от заявления", "Decline the application"},
	"draft.confirmedFields":  {"Вы подтвердили с исправлениями", "You confirmed with these corrections"},
	"draft.notApplicant":     {"Подтвердить или отказаться может только заявитель: %s.", "Only the applicant can confirm or decline: %s."},
	"draft.applicant":        {"Заявитель", "Applicant"},
	"draft.beneficiary":      {"Для кого", "For"},
	"draft.grant":            {"Услуга оформлена: смотрите запись в реестре.", "The service was granted: see the registry entry."},
	"draft.notes":            {"Обратите внимание", "Please note"},
	"draft.cannot":           {"Это действие уже невозможно", "This can no longer be done"},
	"done.confirmed":         {"Заявление подтверждено и передано в ведомство. Решение появится здесь и в уведомлениях.", "The application is confirmed and sent to the agency. The decision will show here and in your notifications."},
	"done.declined":          {"Вы отказались от заявления.", "You declined the application."},
	"done.withdrawn":         {"Вы отказались от услуги; запись в реестре отозвана.", "You gave up the service; the registry entry was revoked."},
	"done.rated":             {"Спасибо! Ваша оценка сохранена.", "Thank you! Your rating is saved."},
	"why.expired":            {"Подтвердить заявление уже нельзя: срок подтверждения истёк %s. Если услуга всё ещё нужна, обратитесь в %s.", "The application can no longer be confirmed: the time to confirm it ran out on %s. If you still need the service, contact %s."},
	"why.declined":           {"Подтвердить заявление нельзя: вы отказались от него %s.", "The application cannot be confirmed: you declined it on %s."},
	"why.withdrawn":          {"Подтвердить заявление нельзя: оно отменено, подтверждать его больше не нужно.", "The application cannot be confirmed: it was cancelled, there is nothing more to confirm."},
	"why.confirmedOther":     {"Заявление уже подтверждено %s с другими данными и передано в ведомство; изменить его нельзя.", "The application was already confirmed on %s with other details and sent to the agency; it cannot be changed."},
	"why.declineConfirmed":   {"Отказаться нельзя: заявление уже подтверждено %s и передано в ведомство.", "It cannot be declined: the application was confirmed on %s and sent to the agency."},
	"why.other":              {"Это уже невозможно: %s.", "This can no longer be done: %s."},
	"why.noOptOut":           {"От этой услуги нельзя отказаться.", "This service cannot be given up."},

	"grants.title":      {"Оформлено для вас", "Granted to you"},
	"grants.intro":      {"Каждая услуга здесь — запись в государственном реестре. Номер записи подтверждает её в любом ведомстве.", "Each service here is an entry in a public registry. The entry number proves it to any agency."},
	"grants.none":       {"Пока ничего не оформлено.", "Nothing has been granted yet."},
	"grants.active":     {"Действует", "In force"},
	"grants.withdrawn":  {"Отозвано %s", "Withdrawn on %s"},
	"grants.for":        {"Для кого", "For"},
	"grants.grantedAt":  {"Оформлено", "Granted on"},
	"grants.registry":   {"Реестр", "Registry"},
	"grants.entry":      {"Номер записи", "Entry number"},
	"grants.details":    {"Сведения в записи", "What the entry holds"},
	"grants.replaced":   {"Заменено новой записью", "Replaced by a new entry"},
	"grants.onDraft":    {"Оформлено по вашему заявлению", "Granted on your application"},
	"grants.optOutHint": {"От этой услуги можно отказаться. Запись в реестре будет отозвана.", "You may give up this service. The registry entry will be revoked."},
	"grants.optOut":     {"Отказаться от услуги", "Give up the service"},

	"notes.title":    {"Уведомления", "Notifications"},
	"notes.none":     {"Уведомлений пока нет.", "No notifications yet."},
	"notes.reminder": {"Напоминание", "Reminder"},

	"rate.title":     {"Оцените, как всё прошло", "Rate how it went"},
	"rate.score":     {"Ваша оценка", "Your rating"},
	"rate.scoreN":    {"%d из 5", "%d of 5"},
	"rate.s1":        {"1 — очень плохо", "1 — very poor"},
	"rate.s2":        {"2 — плохо", "2 — poor"},
	"rate.s3":        {"3 — нормально", "3 — fair"},
	"rate.s4":        {"4 — хорошо", "4 — good"},
	"rate.s5":        {"5 — отлично", "5 — excellent"},
	"rate.comment":   {"Комментарий (необязательно)", "Comment (optional)"},
	"rate.send":      {"Отправить оценку", "Send the rating"},
	"rate.yours":     {"Ваша оценка: %d из 5.", "Your rating: %d of 5."},
	"rate.change":    {"Можно изменить оценку: учитывается последняя.", "You may change it: the last one counts."},
	"rate.notYet":    {"Оценить можно, когда все шаги завершены.", "You can rate it once every step is finished."},
	"rate.noScore":   {"Выберите оценку от 1 до 5.", "Choose a rating from 1 to 5."},
	"rate.tooLong":   {"Комментарий — не больше %d символов, сейчас %d.", "A comment is at most %d characters; this one has %d."},
	"reason.tooLong": {"Причина — не больше %d символов, сейчас %d.", "A reason is at most %d characters; this one has %d."},

	"errors.title":           {"Исправьте, пожалуйста", "Please correct this"},
	"error.prefix":           {"Ошибка: ", "Error: "},
	"error.notEditable":      {"Это поле нельзя изменить.", "This field cannot be changed."},
	"error.notFound.title":   {"Страница не найдена", "Page not found"},
	"error.notFound":         {"Такой страницы нет, или она не относится к вам. Проверьте адрес или вернитесь в кабинет.", "There is no such page, or it is not yours. Check the address or go back to your cabinet."},
	"error.stale.title":      {"Страница устарела", "This page is out of date"},
	"error.stale":            {"Форма была открыта в прошлом сеансе или на другой странице. Ничего не отправлено. Откройте страницу заново и повторите.", "The form belongs to an earlier session or another page. Nothing was sent. Open the page again and retry."},
	"error.internal.title":   {"Что-то пошло не так", "Something went wrong"},
	"error.internal":         {"Запрос не выполнен; мы записали ошибку. Попробуйте чуть позже.", "The request failed; the error is logged. Please try again a little later."},
	"error.catchingUp.title": {"Почти готово", "Almost done"},
	"error.catchingUp":       {"Ваше решение записано, но кабинет ещё не успел его показать. Обновите страницу через несколько секунд.", "Your decision is recorded, but the cabinet does not show it yet. Reload the page in a few seconds."},
	"error.busy.title":       {"Сервис перегружен", "The service is busy"},
	"error.busy":             {"Сейчас слишком много запросов. Ничего не изменилось; повторите через минуту.", "There are too many requests right now. Nothing was changed; please retry in a minute."},
	"error.badRequest.title": {"Запрос не понят", "The request was not understood"},
	"error.badRequest":       {"Форма пришла неполной или повреждённой. Ничего не изменилось; откройте страницу заново и повторите.", "The form arrived incomplete or damaged. Nothing was changed; open the page again and retry."},
	"error.home":             {"Вернуться в кабинет", "Back to your cabinet"},

	"yes": {"да", "yes"},
	"no":  {"нет", "no"},
}

// fieldLabels name the fields of drafts and registry entries in plain words;
// a field not listed shows its name.
var fieldLabels = map[string]text{
	"address":                    {"Адрес", "Address"},
	"age":                        {"Возраст", "Age"},
	"agency":                     {"Ведомство", "Agency"},
	"amount":                     {"Сумма", "Amount"},
	"bank_account":               {"Номер банковского счёта", "Bank account number"},
	"bik":                        {"БИК банка", "Bank identifier (BIK)"},
	"birth_date":                 {"Дата рождения", "Date of birth"},
	"birth_record_number":        {"Номер записи о рождении", "Birth record number"},
	"child_birth_date":           {"Дата рождения ребёнка", "Child's date of birth"},
	"child_family_name":          {"Фамилия ребёнка", "Child's family name"},
	"child_given_name":           {"Имя ребёнка", "Child's given name"},
	"child_id":                   {"Ребёнок", "Child"},
	"child_order":                {"Какой по счёту ребёнок", "Birth order of the child"},
	"clinic":                     {"Поликлиника", "Clinic"},
	"currency":                   {"Валюта", "Currency"},
	"date_of_death":              {"Дата смерти", "Date of death"},
	"death_record_number":        {"Номер записи о смерти", "Death record number"},
	"deceased_family_name":       {"Фамилия умершего", "Family name of the deceased"},
	"deceased_given_name":        {"Имя умершего", "Given name of the deceased"},
	"deceased_id":                {"Умерший", "The deceased"},
	"effective_date":             {"Дата вступления в силу", "Effective date"},
	"family_name":                {"Фамилия", "Family name"},
	"father_id":                  {"Отец", "Father"},
	"from_region":                {"Прежний регион", "Previous region"},
	"given_name":                 {"Имя", "Given name"},
	"household":                  {"Члены семьи", "Household members"},
	"household_size":             {"Число членов семьи", "Household size"},
	"income_year":                {"Год, за который учтён доход", "Year of the income"},
	"insurer":                    {"Страховая медицинская организация", "Health insurer"},
	"licence_number":             {"Номер водительского удостоверения", "Driving licence number"},
	"marriage_date":              {"Дата брака", "Date of marriage"},
	"marriage_record_number":     {"Номер записи о браке", "Marriage record number"},
	"mother_id":                  {"Мать", "Mother"},
	"parent":                     {"Родитель", "Parent"},
	"passport_type":              {"Тип паспорта", "Passport type"},
	"per_capita_income":          {"Доход на человека в месяц, ₽", "Income per person a month, roubles"},
	"phone":                      {"Телефон", "Phone"},
	"previous_family_name":       {"Прежняя фамилия", "Previous family name"},
	"previous_region":            {"Прежний регион", "Previous region"},
	"reason":                     {"Основание", "Grounds"},
	"record_number":              {"Номер актовой записи", "Civil record number"},
	"region":                     {"Регион", "Region"},
	"representative":             {"Законный представитель", "Legal representative"},
	"representative_family_name": {"Фамилия представителя", "Representative's family name"},
	"representative_given_name":  {"Имя представителя", "Representative's given name"},
	"school":                     {"Школа", "School"},
	"sex":                        {"Пол", "Sex"},
	"subsistence_minimum":        {"Прожиточный минимум на человека, ₽", "Subsistence minimum per person, roubles"},
	"to_region":                  {"Новый регион", "New region"},
	"with_parent":                {"Вместе с родителем", "Together with the parent"},
}

// registryNames name the registries grants are entries of.
var registryNames = map[string]text{
	"civil-status":       {"Реестр записей актов гражданского состояния", "Civil status register"},
	"clinic-attachments": {"Прикрепление к поликлиникам", "Clinic attachments"},
	"driving-licences":   {"Водительские удостоверения", "Driving licences"},
	"health-insurance":   {"Полисы ОМС", "Health insurance policies"},
	"kindergarten-queue": {"Очередь в детские сады", "Kindergarten waiting list"},
	"maternity-capital":  {"Сертификаты на материнский капитал", "Maternity capital certificates"},
	"passports":          {"Паспорта", "Passports"},
	"pensions":           {"Пенсии", "Pensions"},
	"residence":          {"Регистрация по месту жительства", "Residence registrations"},
	"schools":            {"Зачисление в школы", "School enrolments"},
	"snils":              {"Индивидуальные лицевые счета (СНИЛС)", "Personal insurance accounts (SNILS)"},
	"social-benefits":    {"Социальные выплаты", "Social benefits"},
	"taxpayers":          {"Налогоплательщики", "Taxpayers"},
	"voters":             {"Избиратели", "Voters"},
}

// label names a field.
func (l lang) label(name string) string {
	if t, ok := fieldLabels[name]; ok {
		if l == en {
			return t.en
		}
		return t.ru
	}
	return strings.ReplaceAll(name, "_", " ")
}

// registry names a registry.
func (l lang) registry(code string) string {
	if t, ok := registryNames[code]; ok {
		if l == en {
			return t.en
		}
		return t.ru
	}
	return code
}

var monthsRU = [...]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}

// date says a YYYY-MM-DD date in words: "5 марта 2026", "5 March 2026".
func (l lang) date(s string) string {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return s
	}
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:])
	if err1 != nil || err2 != nil || err3 != nil || m < 1 || m > 12 {
		return s
	}
	if l == en {
		return fmt.Sprintf("%d %s %d", d, [...]string{"January", "February", "March", "April", "May", "June", "July",
			"August", "September", "October", "November", "December"}[m-1], y)
	}
	return fmt.Sprintf("%d %s %d", d, monthsRU[m-1], y)
}
