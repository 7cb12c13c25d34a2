// Package demo loads a small population into a running development server
// through its public interface (registry events over HTTP, the manual
// clock), so that a newcomer sees bundles in citizens' cabinets at once.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Citizen is a demo person to sign in as.
type Citizen struct {
	Name     string
	PersonID string
	Story    string
	Token    string
}

// person ids are fixed so that the demo is the same on every machine.
func pid(n int) string { return fmt.Sprintf("d0000000-0000-4000-8000-%012d", n) }

type person struct {
	id, family, given, birth, sex, citizenship, region, zone, address string
}

// Load sends the demo's registry events as of now (the server's manual
// clock) and moves the clock two days on so that birthdays fire.
func Load(ctx context.Context, c *http.Client, baseURL string, now time.Time) ([]Citizen, error) {
	day := func(offset int) string { return now.AddDate(0, 0, offset).Format(time.DateOnly) }
	years := func(y, offsetDays int) string { return now.AddDate(-y, 0, offsetDays).Format(time.DateOnly) }
	maria := person{pid(1), "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5"}
	alexey := person{pid(2), "Иванов", "Алексей", "1992-07-15", "M", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5"}
	elena := person{pid(3), "Петрова", "Елена", "1990-05-20", "F", "RU", "RU-TAT", "Europe/Moscow", "Казань, ул. Баумана, д. 10, кв. 2"}
	aigerim := person{pid(4), "Сейткали", "Айгерим", "1996-09-09", "F", "KZ", "RU-SPE", "Europe/Moscow", "Санкт-Петербург, Невский пр., д. 20, кв. 7"}
	olga := person{pid(5), "Смирнова", "Ольга", years(45, 1), "F", "RU", "RU-NVS", "Asia/Novosibirsk", "Новосибирск, Красный пр., д. 3, кв. 9"}
	ivan := person{pid(6), "Кузнецов", "Иван", years(14, 2), "M", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Арбат, д. 4, кв. 1"}
	elenaFirst := person{pid(7), "Петров", "Артём", "2021-04-02", "M", "RU", "RU-TAT", "Europe/Moscow", elena.address}

	pop := []map[string]any{}
	for _, p := range []person{maria, alexey, elena, aigerim, olga, ivan} {
		pop = append(pop, registered(p, now))
	}
	civil := []map[string]any{
		birth("demo-birth-artem", elenaFirst, elena.id, "", now, "160-2021-000777"),
		birth("demo-birth-petr", person{pid(11), "Иванов", "Пётр", day(-9), "M", "RU", "RU-MOW", "Europe/Moscow", maria.address}, maria.id, alexey.id, now, "770-"+day(-9)[:4]+"-000123"),
		birth("demo-birth-anna", person{pid(12), "Петрова", "Анна", day(-3), "F", "RU", "RU-TAT", "Europe/Moscow", elena.address}, elena.id, "", now, "160-"+day(-3)[:4]+"-000321"),
		birth("demo-birth-dana", person{pid(13), "Сейткали", "Дана", day(-5), "F", "KZ", "RU-SPE", "Europe/Moscow", aigerim.address}, aigerim.id, "", now, "780-"+day(-5)[:4]+"-000555"),
	}
	tax := []map[string]any{
		income("demo-income-elena", elena.id, now.Year()-1, 240000, now),
		income("demo-income-maria", maria.id, now.Year()-1, 1800000, now),
		income("demo-income-alexey", alexey.id, now.Year()-1, 2400000, now),
	}
	for _, batch := range []struct {
		source string
		events []map[string]any
	}{
		{"urn:registry:population", pop},
		{"urn:registry:civil-status", civil[:1]},
		{"urn:registry:tax", tax},
		{"urn:registry:civil-status", civil[1:]},
	} {
		if err := send(ctx, c, baseURL, batch.source, batch.events); err != nil {
			return nil, err
		}
	}
	if err := post(ctx, c, baseURL+"/v1/dev/clock", "", map[string]string{"now": now.Add(48 * time.Hour).Format(time.RFC3339)}, nil); err != nil {
		return nil, fmt.Errorf("demo: move the clock: %w", err)
	}
	return SignIn(ctx, c, baseURL)
}

// SignIn returns the demo's citizens with a development token each.
func SignIn(ctx context.Context, c *http.Client, baseURL string) ([]Citizen, error) {
	citizens := []Citizen{
		{Name: "Мария Иванова", PersonID: pid(1), Story: "gave birth 9 days ago: the whole birth-of-child bundle"},
		{Name: "Елена Петрова", PersonID: pid(3), Story: "second child, low income: maternity capital for a later child, child allowance drafted"},
		{Name: "Айгерим Сейткали", PersonID: pid(4), Story: "not a citizen: maternity capital rejected with its reason"},
		{Name: "Ольга Смирнова", PersonID: pid(5), Story: "turned 45 yesterday: passport replacement draft with its deadline and reminders"},
		{Name: "Иван Кузнецов", PersonID: pid(6), Story: "turned 14 today: first passport draft"},
	}
	for i := range citizens {
		tok, err := token(ctx, c, baseURL, "citizen", citizens[i].PersonID)
		if err != nil {
			return nil, err
		}
		citizens[i].Token = tok
	}
	return citizens, nil
}

func registered(p person, now time.Time) map[string]any {
	return event("urn:registry:population", "demo-person-"+p.id, "person.registered", p.id, now, map[string]any{
		"person_id": p.id, "family_name": p.family, "given_name": p.given, "birth_date": p.birth, "sex": p.sex,
		"citizenship": p.citizenship, "region": p.region, "time_zone": p.zone, "address": p.address,
	})
}

func birth(id string, child person, mother, father string, now time.Time, record string) map[string]any {
	data := map[string]any{
		"record_number": record, "child_id": child.id, "child_family_name": child.family, "child_given_name": child.given,
		"birth_date": child.birth, "sex": child.sex, "mother_id": mother, "region": child.region,
		"time_zone": child.zone, "address": child.address,
	}
	if father != "" {
		data["father_id"] = father
	}
	return event("urn:registry:civil-status", id, "birth.registered", child.id, now, data)
}

func income(id, person string, year, amount int, now time.Time) map[string]any {
	return event("urn:registry:tax", id, "income.reported", person, now, map[string]any{
		"person_id": person, "year": year, "annual_income_rub": amount,
	})
}

func event(source, id, typ, subject string, now time.Time, data map[string]any) map[string]any {
	return map[string]any{"specversion": "1.0", "id": id, "source": source, "type": typ,
		"time": now.Add(-time.Hour).Format(time.RFC3339), "subject": subject, "data": data}
}

func send(ctx context.Context, c *http.Client, baseURL, source string, events []map[string]any) error {
	tok, err := token(ctx, c, baseURL, "registry", source)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(events)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("demo: send %s events: %w", source, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("demo: %s events answered %d: %s", source, resp.StatusCode, msg)
	}
	return nil
}

func token(ctx context.Context, c *http.Client, baseURL, role, subject string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	if err := post(ctx, c, baseURL+"/v1/dev/token", "", map[string]string{"role": role, "subject": subject}, &out); err != nil {
		return "", fmt.Errorf("demo: token for %s %s: %w", role, subject, err)
	}
	return out.Token, nil
}

func post(ctx context.Context, c *http.Client, url, tok string, in, out any) error {
	body, _ := json.Marshal(in)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s answered %d: %s", url, resp.StatusCode, msg)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}
