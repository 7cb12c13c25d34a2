package webcabinet_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"lifesituations/adapters/auth"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

func TestSignInByChoosingAPersonInDevelopment(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()

	// A page asked for without a session leads to the sign-in page and,
	// once signed in, back.
	r := b.get("/drafts/" + allowanceID.String())
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin?next=%2Fdrafts%2F"+allowanceID.String() {
		t.Fatalf("not signed in: %d %q", r.status, r.header.Get("Location"))
	}
	p := b.get("/signin")
	p.want(t, http.StatusOK, "Вход в кабинет", "Мария Иванова", `name="person" value="`+mother+`"`, `<label for="f-person_id">`)
	r = b.post("/signin", url.Values{"signin": {hidden(t, p.body, "signin")}, "person": {mother}, "next": {"/drafts/" + allowanceID.String()}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/drafts/"+allowanceID.String() {
		t.Fatalf("sign in: %d %q", r.status, r.header.Get("Location"))
	}
	cookie := r.header.Get("Set-Cookie")
	for _, attr := range []string{"ls_session=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("session cookie %q lacks %s", cookie, attr)
		}
	}
	home := b.get("/")
	home.want(t, http.StatusOK, "Вы вошли как Мария Иванова", "Рождение ребёнка", "Ждут вашего решения",
		"Единое пособие на ребёнка", "подтвердите до 5 сентября 2026", "Орлов Дмитрий Андреевич, Социальный фонд России",
		`href="/drafts/`+allowanceID.String()+`"`, "Оформлено")
	if h := home.header.Get("Content-Security-Policy"); !strings.Contains(h, "script-src 'self'") || home.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: CSP %q, Cache-Control %q", h, home.header.Get("Cache-Control"))
	}

	// An identifier typed that the register does not know is refused next
	// to the field.
	p = b.get("/signin")
	r = b.post("/signin", url.Values{"signin": {hidden(t, p.body, "signin")}, "person_id": {"nobody"}})
	r.want(t, http.StatusBadRequest, `id="f-person_id-error"`, "В реестре нет человека с таким идентификатором", `aria-invalid="true"`)

	// Signing out ends the session.
	r = b.post("/signout", url.Values{"csrf": {b.csrf("/")}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Fatalf("sign out: %d %q", r.status, r.header.Get("Location"))
	}
	if r := b.get("/"); r.status != http.StatusSeeOther {
		t.Errorf("after signing out: %d", r.status)
	}
}

func TestSignInRefusesAFormOfAnotherBrowser(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	// No sign-in page was opened in this browser: no token cookie.
	r := b.post("/signin", url.Values{"signin": {"forged"}, "person": {mother}})
	r.want(t, http.StatusForbidden, "Страница входа устарела")
	if strings.Contains(r.header.Get("Set-Cookie"), "ls_session=") && !strings.Contains(r.header.Get("Set-Cookie"), "ls_session=;") {
		t.Errorf("a session was set: %s", r.header.Get("Set-Cookie"))
	}

	// Another site's page posting the sign-in form is refused.
	token := hidden(t, b.get("/signin").body, "signin")
	b.do("POST", "/signin", url.Values{"signin": {token}, "person": {mother}}, "Origin", "https://evil.example").
		want(t, http.StatusForbidden)
	// After signing in, only a path of this site is followed.
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example"} {
		r := b.post("/signin", url.Values{"signin": {token}, "person": {mother}, "next": {next}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Errorf("next %q: %d %q", next, r.status, r.header.Get("Location"))
		}
	}
}

func TestSignInWithATokenInProduction(t *testing.T) {
	f := newFixture(t, true)
	b := f.browser()
	p := b.get("/signin")
	p.want(t, http.StatusOK, "поставщика удостоверений", `<textarea id="f-token" name="token"`)
	p.lacks(t, "Мария Иванова")
	token := hidden(t, p.body, "signin")

	b.post("/signin", url.Values{"signin": {token}, "token": {""}}).want(t, http.StatusBadRequest, "Вставьте токен доступа", `id="f-token-error"`)
	b.post("/signin", url.Values{"signin": {token}, "token": {"not-a-token"}}).want(t, http.StatusBadRequest, "Токен не принят")
	registry, _ := f.dev.Issue(auth.Principal{Role: auth.RoleRegistry, Subject: "urn:registry:population"})
	b.post("/signin", url.Values{"signin": {token}, "token": {registry}}).want(t, http.StatusBadRequest, "не гражданину")

	citizen, _ := f.dev.Issue(auth.Principal{Role: auth.RoleCitizen, Subject: mother})
	r := b.post("/signin", url.Values{"signin": {token}, "token": {"Bearer " + citizen}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign in with a citizen's token: %d %s", r.status, r.body)
	}
	b.get("/").want(t, http.StatusOK, "Мария Иванова")
}

func TestAnEndedSessionSignsInAgain(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	b.signIn(mother)
	if err := f.clock.Advance(13 * time.Hour); err != nil { // development tokens last 12 hours
		t.Fatal(err)
	}
	r := b.get("/grants")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin?next=%2Fgrants&why=expired" {
		t.Fatalf("an expired session: %d %q", r.status, r.header.Get("Location"))
	}
	b.get("/signin?why=expired").want(t, http.StatusOK, "Сеанс завершён. Войдите снова.")
}

func TestFormsNeedTheSessionsToken(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	b.signIn(mother)
	path := "/drafts/" + allowanceID.String() + "/confirm"

	b.post(path, url.Values{"csrf": {"forged"}}).want(t, http.StatusForbidden, "Страница устарела")
	b.post(path, url.Values{}).want(t, http.StatusForbidden)
	// Another session's token, as a page kept from before signing in again.
	other := f.browser()
	other.signIn(stranger)
	b.post(path, url.Values{"csrf": {other.csrf("/")}}).want(t, http.StatusForbidden)
	// A form another site's page sent.
	r := b.do("POST", path, url.Values{"csrf": {b.csrf("/")}}, "Origin", "https://evil.example")
	r.want(t, http.StatusForbidden)
	if f.model.commands != 0 || f.model.draft(allowanceID).Status != situation.StatusOpen {
		t.Fatalf("a refused form changed the draft: %+v", f.model.draft(allowanceID))
	}
}

func TestABadCorrectionIsShownNextToItsField(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	b.signIn(mother)
	path := "/drafts/" + allowanceID.String()
	p := b.get(path)
	p.want(t, http.StatusOK, "Проверьте и подтвердите", `<label for="f-bank_account">Номер банковского счёта</label>`,
		`id="f-bank_account-hint"`, "Номер счёта — 20 цифр", "Подтвердите до 5 сентября 2026 включительно.",
		"Число членов семьи", "Пётр Иванов") // a person's id is said as their name
	csrf := hidden(t, p.body, "csrf")

	r := b.post(path+"/confirm", url.Values{"csrf": {csrf}, "field.bank_account": {"123"}, "field.phone": {"+79001234567"}})
	r.want(t, http.StatusBadRequest,
		`<p class="error" id="f-bank_account-error"><span class="vh">Ошибка: </span>Номер счёта — 20 цифр</p>`,
		`aria-describedby="f-bank_account-hint f-bank_account-error" aria-invalid="true"`,
		`value="123"`, `value="&#43;79001234567"`, // what was typed stays
		`<a href="#f-bank_account">Номер банковского счёта: Номер счёта — 20 цифр</a>`)
	if strings.Contains(r.body, `id="f-phone-error"`) {
		t.Error("an acceptable field is marked as an error")
	}
	if f.model.commands != 0 {
		t.Fatal("a refused correction was recorded")
	}

	// Corrected, it is confirmed; the page after says so.
	r = b.post(path+"/confirm", url.Values{"csrf": {csrf}, "field.bank_account": {"40817810000000000002"}, "field.bik": {""}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=confirmed" {
		t.Fatalf("confirm: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	if d := f.model.draft(allowanceID); d.Fields["bank_account"] != "40817810000000000002" || len(d.Fields) != 1 {
		t.Errorf("confirmed fields %v, want only the bank account", d.Fields)
	}
	done := b.get(path + "?done=confirmed")
	done.want(t, http.StatusOK, "Заявление подтверждено и передано в ведомство", "Подтверждено · Передано в ведомство",
		"Вы подтвердили с исправлениями", "40817810000000000002")
	done.lacks(t, `action="`+path+`/confirm"`)
}

func TestADoubleClickOnConfirmFilesOnce(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	b.signIn(mother)
	path := "/drafts/" + residenceID.String()
	form := url.Values{"csrf": {b.csrf(path)}, "field.address": {"Москва, ул. Арбат, д. 2"}}
	for i := range 2 {
		if r := b.post(path+"/confirm", form); r.status != http.StatusSeeOther {
			t.Fatalf("confirm %d: %d %s", i+1, r.status, r.body)
		}
	}
	if f.model.commands != 1 {
		t.Errorf("%d commands recorded, want 1", f.model.commands)
	}
	// The field left as pre-filled is no correction at all.
	f2 := newFixture(t, false)
	b2 := f2.browser()
	b2.signIn(mother)
	b2.post(path+"/confirm", url.Values{"csrf": {b2.csrf(path)}, "field.address": {"Москва, ул. Тверская, д. 1, кв. 5"}})
	if d := f2.model.draft(residenceID); d.Status != situation.StatusConfirmed || d.Fields != nil {
		t.Errorf("unchanged field: %+v", d)
	}
}

func TestAStalePageSaysWhyItCannotConfirm(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	b.signIn(mother)
	path := "/drafts/" + residenceID.String()
	csrf := b.csrf(path) // the page is open...
	f.model.mu.Lock()    // ...while the deadline passes
	f.model.drafts[residenceID].Status = situation.StatusExpired
	f.model.drafts[residenceID].Outcome = situation.OutcomeExpired
	f.model.mu.Unlock()

	r := b.post(path+"/confirm", url.Values{"csrf": {csrf}, "field.address": {"Москва, ул. Арбат, д. 2"}})
	r.want(t, http.StatusConflict, `role="alert"`, "Подтвердить заявление уже нельзя: срок подтверждения истёк 8 июня 2026",
		"обратитесь в МВД России", "Срок подтверждения истёк")
	r.lacks(t, `action="`+path+`/confirm"`)

	// Declined meanwhile, in another tab.
	f.model.mu.Lock()
	f.model.drafts[allowanceID].Status = situation.StatusDeclined
	f.model.drafts[allowanceID].UpdatedAt = time.Date(2026, 3, 11, 8, 0, 0, 0, time.UTC)
	f.model.mu.Unlock()
	b.post("/drafts/"+allowanceID.String()+"/confirm", url.Values{"csrf": {csrf}}).
		want(t, http.StatusConflict, "вы отказались от него 11 марта 2026")
}

func TestDeclineADraft(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	b.signIn(mother)
	path := "/drafts/" + allowanceID.String()
	csrf := b.csrf(path)
	b.post(path+"/decline", url.Values{"csrf": {csrf}, "reason": {strings.Repeat("я", 1001)}}).
		want(t, http.StatusBadRequest, `id="f-reason-error"`, "не больше 1000 символов, сейчас 1001")
	r := b.post(path+"/decline", url.Values{"csrf": {csrf}, "reason": {"справимся сами"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("decline: %d %s", r.status, r.body)
	}
	b.get(path+"?done=declined").want(t, http.StatusOK, "Вы отказались от заявления.")
	// Confirming it now says why not.
	b.post(path+"/confirm", url.Values{"csrf": {csrf}}).want(t, http.StatusConflict, "вы отказались от него")
}

func TestAnotherPersonCannotSeeHerData(t *testing.T) {
	f := newFixture(t, false)
	s := f.browser()
	s.signIn(stranger)
	csrf := s.csrf("/")
	for _, path := range []string{"/drafts/" + allowanceID.String(), "/situations/" + sitID.String(), "/drafts/not-a-uuid"} {
		p := s.get(path)
		p.want(t, http.StatusNotFound, "Страница не найдена", "не относится к вам")
		p.lacks(t, "Единое пособие", "Мария")
	}
	for _, path := range []string{"/drafts/" + allowanceID.String() + "/confirm", "/drafts/" + allowanceID.String() + "/decline",
		"/grants/" + queueID.String() + "/withdraw", "/situations/" + sitID.String() + "/rating"} {
		s.post(path, url.Values{"csrf": {csrf}, "score": {"5"}}).want(t, http.StatusNotFound)
	}
	s.get("/").lacks(t, "Рождение ребёнка")
	s.get("/grants").want(t, http.StatusOK, "Пока ничего не оформлено.")

	// The child sees the draft made for him, but only its applicant decides.
	c := f.browser()
	c.signIn(child)
	p := c.get("/drafts/" + allowanceID.String())
	p.want(t, http.StatusOK, "Подтвердить или отказаться может только заявитель: Мария Иванова.")
	p.lacks(t, "/confirm\"")
	c.post("/drafts/"+allowanceID.String()+"/confirm", url.Values{"csrf": {c.csrf("/")}}).want(t, http.StatusNotFound)
	if f.model.commands != 0 {
		t.Fatal("someone else's command was recorded")
	}
}

func TestGrantsAndOptingOut(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	b.signIn(mother)
	p := b.get("/grants")
	p.want(t, http.StatusOK, "Оформлено для вас", "Очередь в детские сады", "44444444-0000-4000-8000-000000000001",
		"Действует", "Пётр Иванов", `action="/grants/`+queueID.String()+`/withdraw"`,
		"Индивидуальные лицевые счета (СНИЛС)") // the child's grant, seen by his mother
	p.lacks(t, `action="/grants/`+snilsID.String()+`/withdraw"`)
	csrf := hidden(t, p.body, "csrf")

	// The child's SNILS: she sees it, but only its applicant may give it up.
	b.post("/grants/"+snilsID.String()+"/withdraw", url.Values{"csrf": {csrf}}).want(t, http.StatusNotFound)

	r := b.post("/grants/"+queueID.String()+"/withdraw", url.Values{"csrf": {csrf}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/grants?done=withdrawn#grant-") {
		t.Fatalf("withdraw: %d %q", r.status, r.header.Get("Location"))
	}
	b.get("/grants?done=withdrawn").want(t, http.StatusOK, "запись в реестре отозвана", "Отозвано 10 марта 2026")
	// Again: nothing more happens.
	if r := b.post("/grants/"+queueID.String()+"/withdraw", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther || f.model.commands != 1 {
		t.Errorf("withdraw again: %d, %d commands", r.status, f.model.commands)
	}

	// A grant that does not allow it says so next to it.
	f.model.mu.Lock()
	f.model.grants[snilsID].Applicant = mother
	f.model.mu.Unlock()
	b.post("/grants/"+snilsID.String()+"/withdraw", url.Values{"csrf": {csrf}}).want(t, http.StatusConflict, "От этой услуги нельзя отказаться.")
}

func TestRateAFinishedSituation(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	b.signIn(mother)
	path := "/situations/" + sitID.String()
	b.get(path).want(t, http.StatusOK, "Оценить можно, когда все шаги завершены.")

	f.model.mu.Lock()
	f.model.sit.Status = cabinet.SituationCompleted
	f.model.mu.Unlock()
	p := b.get(path)
	p.want(t, http.StatusOK, "Оцените, как всё прошло", `<legend>Ваша оценка</legend>`, `<label for="f-score-5">5 — отлично</label>`)
	csrf := hidden(t, p.body, "csrf")

	b.post(path+"/rating", url.Values{"csrf": {csrf}, "comment": {"быстро"}}).
		want(t, http.StatusBadRequest, `id="f-score-error"`, "Выберите оценку от 1 до 5.", `aria-describedby="f-score-error"`, "быстро")
	b.post(path+"/rating", url.Values{"csrf": {csrf}, "score": {"7"}}).want(t, http.StatusBadRequest, "Выберите оценку от 1 до 5.")
	b.post(path+"/rating", url.Values{"csrf": {csrf}, "score": {"4"}, "comment": {strings.Repeat("x", 2001)}}).
		want(t, http.StatusBadRequest, `id="f-comment-error"`, "не больше 2000 символов")
	if f.model.commands != 0 {
		t.Fatal("a refused rating was recorded")
	}
	r := b.post(path+"/rating", url.Values{"csrf": {csrf}, "score": {"4"}, "comment": {"быстро"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("rate: %d %s", r.status, r.body)
	}
	b.get(path+"?done=rated").want(t, http.StatusOK, "Спасибо! Ваша оценка сохранена.", "Ваша оценка: 4 из 5.", `value="4" checked`)
}

func TestLanguageFollowsTheBrowser(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	b.signIn(mother)
	b.lang = "en-GB,en;q=0.9,ru;q=0.5"
	p := b.get("/")
	p.want(t, http.StatusOK, `<html lang="en">`, "Your life situations", "Unified child allowance", "confirm by 5 September 2026",
		"Waiting for your confirmation", `lang="ru"`)
	b.get("/drafts/"+allowanceID.String()).want(t, http.StatusOK, "An account number is 20 digits", "Bank account number")

	// The switch in the header wins over the browser, and is remembered.
	b.get("/?lang=ru").want(t, http.StatusOK, `<html lang="ru">`, "Ваши жизненные ситуации")
	b.get("/notifications").want(t, http.StatusOK, `<html lang="ru">`, "Уведомления", "заявление заполнено за вас")
}

func TestAcceptLanguage(t *testing.T) {
	f := newFixture(t, false)
	for header, want := range map[string]string{
		"":                            `<html lang="ru">`,
		"de-DE":                       `<html lang="ru">`,
		"en":                          `<html lang="en">`,
		"de;q=1, en;q=0.8, ru;q=0.9":  `<html lang="ru">`,
		"en-US,en;q=0.9":              `<html lang="en">`,
		"ru;q=0, en;q=0.1":            `<html lang="en">`,
		"fr, EN-gb;q=0.7, ru-RU;q=.5": `<html lang="en">`,
	} {
		b := f.browser()
		b.lang = header
		if p := b.get("/signin"); !strings.Contains(p.body, want) {
			t.Errorf("Accept-Language %q: want %s", header, want)
		}
	}
}

func TestUnknownPathsAndAssets(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	b.get("/no-such-page").want(t, http.StatusNotFound, "Страница не найдена")
	r := b.do("GET", "/v1/no-such-endpoint", nil)
	if r.status != http.StatusNotFound || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("an unknown API path: %d %s", r.status, r.header.Get("Content-Type"))
	}
	css := b.get("/assets/cabinet.css")
	if css.status != http.StatusOK || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") {
		t.Errorf("style sheet: %d %s", css.status, css.header.Get("Content-Type"))
	}
	js := b.get("/assets/cabinet.js")
	if js.status != http.StatusOK || !strings.Contains(js.body, "disabled = true") {
		t.Errorf("script: %d", js.status)
	}
	if r := b.get("/assets/nothing.css"); r.status != http.StatusNotFound {
		t.Errorf("a missing asset: %d", r.status)
	}
}
