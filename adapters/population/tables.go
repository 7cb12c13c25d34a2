package population

// The tables below give the synthetic population its proportions. They are
// rounded public figures for Russia (Rosstat, 1 January 2024), good enough
// for a load whose shape should resemble the country's, not to quote.

// ageBand is a five-year age group of the pyramid and its share.
type ageBand struct {
	from, to int // ages, inclusive
	share    float64
}

// pyramid is the age structure: percentages of the population by age
// group. The narrow 15-24 bands are the children of the 1990s' low
// births; the wide 30-44 bands those of the 1980s.
var pyramid = []ageBand{
	{0, 4, 5.3}, {5, 9, 6.2}, {10, 14, 6.1}, {15, 19, 5.4}, {20, 24, 4.9},
	{25, 29, 5.2}, {30, 34, 7.2}, {35, 39, 8.2}, {40, 44, 7.3}, {45, 49, 6.8},
	{50, 54, 6.2}, {55, 59, 6.6}, {60, 64, 7.2}, {65, 69, 6.3}, {70, 74, 5.0},
	{75, 79, 2.6}, {80, 84, 2.0}, {85, 89, 1.1}, {90, 99, 0.4},
}

// femaleShare is the share of women at an age: about even among the young,
// two thirds among the old.
func femaleShare(age int) float64 {
	switch {
	case age < 30:
		return 0.49
	case age < 50:
		return 0.51
	case age < 65:
		return 0.56
	case age < 75:
		return 0.63
	default:
		return 0.72
	}
}

// region is a subject of the federation: ISO 3166-2 code, IANA zone, its
// weight in the population (in tenths of a percent, roughly), a city for
// addresses and the two-digit code registries put in record numbers.
type region struct {
	code, zone, city string
	weight           float64
	number           int
}

var regions = []region{
	{"RU-MOW", "Europe/Moscow", "Москва", 89, 77},
	{"RU-MOS", "Europe/Moscow", "Красногорск", 59, 50},
	{"RU-KDA", "Europe/Moscow", "Краснодар", 40, 23},
	{"RU-SPE", "Europe/Moscow", "Санкт-Петербург", 38, 78},
	{"RU-BA", "Asia/Yekaterinburg", "Уфа", 28, 2},
	{"RU-SVE", "Asia/Yekaterinburg", "Екатеринбург", 29, 66},
	{"RU-ROS", "Europe/Moscow", "Ростов-на-Дону", 29, 61},
	{"RU-TA", "Europe/Moscow", "Казань", 27, 16},
	{"RU-CHE", "Asia/Yekaterinburg", "Челябинск", 23, 74},
	{"RU-DA", "Europe/Moscow", "Махачкала", 22, 5},
	{"RU-NIZ", "Europe/Moscow", "Нижний Новгород", 21, 52},
	{"RU-SAM", "Europe/Samara", "Самара", 22, 63},
	{"RU-NVS", "Asia/Novosibirsk", "Новосибирск", 19, 54},
	{"RU-KYA", "Asia/Krasnoyarsk", "Красноярск", 19, 24},
	{"RU-PER", "Asia/Yekaterinburg", "Пермь", 17, 59},
	{"RU-KEM", "Asia/Novokuznetsk", "Кемерово", 18, 42},
	{"RU-VOR", "Europe/Moscow", "Воронеж", 16, 36},
	{"RU-VGG", "Europe/Volgograd", "Волгоград", 17, 34},
	{"RU-SAR", "Europe/Saratov", "Саратов", 16, 64},
	{"RU-IRK", "Asia/Irkutsk", "Иркутск", 16, 38},
	{"RU-ALT", "Asia/Barnaul", "Барнаул", 15, 22},
	{"RU-OMS", "Asia/Omsk", "Омск", 13, 55},
	{"RU-PRI", "Asia/Vladivostok", "Владивосток", 13, 25},
	{"RU-TYU", "Asia/Yekaterinburg", "Тюмень", 11, 72},
	{"RU-UD", "Europe/Samara", "Ижевск", 10, 18},
	{"RU-KHA", "Asia/Vladivostok", "Хабаровск", 9, 27},
	{"RU-KGD", "Europe/Kaliningrad", "Калининград", 7, 39},
	{"RU-SA", "Asia/Yakutsk", "Якутск", 7, 14},
	{"RU-SAK", "Asia/Sakhalin", "Южно-Сахалинск", 3, 65},
	{"RU-KAM", "Asia/Kamchatka", "Петропавловск-Камчатский", 2, 41},
	{"RU-MAG", "Asia/Magadan", "Магадан", 1, 49},
}

// citizenship of adults: mostly Russian, the rest the usual countries of
// labour migration. Children take theirs from their parents.
var citizenships = []struct {
	code   string
	weight float64
}{
	{"RU", 950}, {"UZ", 12}, {"TJ", 10}, {"KZ", 7}, {"KG", 6}, {"AM", 5}, {"AZ", 4}, {"UA", 3}, {"BY", 3},
}

// familyNames holds the masculine and feminine form of each family name.
var familyNames = [][2]string{
	{"Иванов", "Иванова"}, {"Смирнов", "Смирнова"}, {"Кузнецов", "Кузнецова"}, {"Попов", "Попова"},
	{"Васильев", "Васильева"}, {"Петров", "Петрова"}, {"Соколов", "Соколова"}, {"Михайлов", "Михайлова"},
	{"Новиков", "Новикова"}, {"Фёдоров", "Фёдорова"}, {"Морозов", "Морозова"}, {"Волков", "Волкова"},
	{"Алексеев", "Алексеева"}, {"Лебедев", "Лебедева"}, {"Семёнов", "Семёнова"}, {"Егоров", "Егорова"},
	{"Павлов", "Павлова"}, {"Козлов", "Козлова"}, {"Степанов", "Степанова"}, {"Николаев", "Николаева"},
	{"Орлов", "Орлова"}, {"Андреев", "Андреева"}, {"Макаров", "Макарова"}, {"Никитин", "Никитина"},
	{"Захаров", "Захарова"}, {"Зайцев", "Зайцева"}, {"Соловьёв", "Соловьёва"}, {"Борисов", "Борисова"},
	{"Яковлев", "Яковлева"}, {"Григорьев", "Григорьева"}, {"Романов", "Романова"}, {"Воробьёв", "Воробьёва"},
	{"Сергеев", "Сергеева"}, {"Кузьмин", "Кузьмина"}, {"Фролов", "Фролова"}, {"Александров", "Александрова"},
	{"Дмитриев", "Дмитриева"}, {"Королёв", "Королёва"}, {"Гусев", "Гусева"}, {"Киселёв", "Киселёва"},
	{"Ильин", "Ильина"}, {"Максимов", "Максимова"}, {"Поляков", "Полякова"}, {"Сорокин", "Сорокина"},
	{"Виноградов", "Виноградова"}, {"Ковалёв", "Ковалёва"}, {"Белов", "Белова"}, {"Медведев", "Медведева"},
	{"Антонов", "Антонова"}, {"Тарасов", "Тарасова"}, {"Жуков", "Жукова"}, {"Баранов", "Баранова"},
	{"Гарипов", "Гарипова"}, {"Хасанов", "Хасанова"}, {"Алиев", "Алиева"}, {"Каримов", "Каримова"},
}

var maleNames = []string{
	"Александр", "Михаил", "Максим", "Артём", "Иван", "Дмитрий", "Даниил", "Кирилл", "Андрей", "Егор",
	"Никита", "Илья", "Алексей", "Матвей", "Тимофей", "Роман", "Владимир", "Сергей", "Ярослав", "Фёдор",
	"Николай", "Евгений", "Павел", "Олег", "Игорь", "Юрий", "Виктор", "Тимур", "Руслан", "Марат",
}

var femaleNames = []string{
	"Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Екатерина", "Светлана", "Юлия",
	"Анастасия", "Дарья", "Полина", "София", "Виктория", "Алиса", "Ксения", "Валерия", "Варвара", "Вероника",
	"Александра", "Елизавета", "Людмила", "Галина", "Надежда", "Марина", "Алина", "Диана", "Гульнара", "Зарина",
}

var streets = []string{
	"ул. Ленина", "ул. Советская", "ул. Мира", "ул. Садовая", "ул. Школьная", "ул. Лесная", "ул. Гагарина",
	"пр. Победы", "ул. Молодёжная", "ул. Центральная", "ул. Пушкина", "ул. Строителей", "ул. Кирова",
	"ул. Набережная", "ул. Заречная", "пр. Космонавтов",
}
