package form

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func answers(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidAnswers(t *testing.T) {
	f := loadExample(t)
	vals, err := f.Validate(answers(t, `{"name":"Ada Lovelace","email":"ada@example.org","department":"engineering",
		"team_size":"small","skills":["go","rust"],"projects":[{"project_name":"engine","project_role":"lead"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if vals["team_size"] != "small" || len(vals["projects"].([]any)) != 1 {
		t.Fatalf("values: %v", vals)
	}
}

// Every failing field is reported at once, each with its rule.
func TestAllFailuresAtOnce(t *testing.T) {
	f := loadExample(t)
	r := f.Check(answers(t, `{"name":"1","email":"nope","department":"sales","skills":["go","cobol"],
		"projects":[{"project_role":"boss"}],"age":3}`))
	got := map[string]string{}
	for _, e := range r.Errors {
		got[e.Field] += e.Rule + " "
	}
	want := map[string]string{
		"name": "min_length pattern ", "email": "pattern ", "department": "options ", "skills": "options ",
		"projects[0].project_name": "required ", "projects[0].project_role": "options ", "age": "unknown ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n got %v\nwant %v", got, want)
	}
}

// A hidden field is neither validated nor output; its answer is dropped.
func TestHiddenFieldIsDropped(t *testing.T) {
	f := loadExample(t)
	r := f.Check(answers(t, `{"name":"Bob","email":"b@x.io","department":"design","team_size":"bogus","projects":[{"project_name":"p"}]}`))
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %v", r.Errors)
	}
	if _, ok := r.Values["team_size"]; ok {
		t.Fatal("team_size output while hidden")
	}
	if strings.Contains(strings.Join(r.Visible, ","), "team_size") {
		t.Fatalf("visible: %v", r.Visible)
	}
	r = f.Check(answers(t, `{"department":"engineering"}`))
	if !strings.Contains(strings.Join(r.Visible, ","), "team_size") {
		t.Fatalf("team_size hidden for engineering: %v", r.Visible)
	}
}

func TestGroupItemCounts(t *testing.T) {
	f := loadExample(t)
	six := `[` + strings.Repeat(`{"project_name":"p"},`, 5) + `{"project_name":"p"}]`
	for in, rule := range map[string]string{`[]`: "min_items", six: "max_items", `{"project_name":"p"}`: "type"} {
		r := f.Check(answers(t, `{"name":"Bob","email":"b@x.io","department":"design","projects":`+in+`}`))
		if len(r.Errors) != 1 || r.Errors[0].Rule != rule || r.Errors[0].Field != "projects" {
			t.Fatalf("%s: %v", in, r.Errors)
		}
	}
}

func TestConditionsAllAnyIn(t *testing.T) {
	src := head + `[[sections.fields]]
id = "env"
type = "select"
options = [{ value = "dev", label = "d" }, { value = "prod", label = "p" }, { value = "qa", label = "q" }]
[[sections.fields]]
id = "replicas"
type = "number"
validation = { min = 1, max = 9 }
condition = { field = "env", in = ["prod", "qa"] }
[[sections.fields]]
id = "ha"
type = "confirm"
condition = { all = [{ field = "env", not_equals = "dev" }, { any = [{ field = "replicas", equals = 3 }, { field = "replicas", equals = 5 }] }] }
`
	f, err := Parse("c.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		`{"env":"dev"}`:                           "env",
		`{"env":"qa","replicas":2}`:               "env,replicas",
		`{"env":"prod","replicas":3}`:             "env,replicas,ha",
		`{"env":"prod","replicas":3.0,"ha":true}`: "env,replicas,ha",
		`{"env":"prod","replicas":30,"ha":true}`:  "env,replicas",
	}
	for in, want := range cases {
		if got := strings.Join(f.VisibleFields(answers(t, in)), ","); got != want {
			t.Errorf("%s: visible %s, want %s", in, got, want)
		}
	}
	r := f.Check(answers(t, `{"env":"prod","replicas":30,"ha":"yes"}`))
	if len(r.Errors) != 1 || r.Errors[0].Rule != "max" {
		t.Fatalf("errors: %v", r.Errors)
	}
}

func TestTypesAndDefaults(t *testing.T) {
	src := head + `[[sections.fields]]
id = "when"
type = "date"
[[sections.fields]]
id = "port"
type = "number"
default = 8080
[[sections.fields]]
id = "secret"
type = "password"
required = true
validation.min_length = 8
`
	f, err := Parse("t.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Check(answers(t, `{"when":"2026-13-01","secret":"short"}`))
	if len(r.Errors) != 2 || r.Errors[0].Rule != "date" || r.Errors[1].Rule != "min_length" {
		t.Fatalf("errors: %v", r.Errors)
	}
	vals, err := f.Validate(answers(t, `{"when":"2026-11-30","secret":"longenough"}`))
	if err != nil || vals["port"] != int64(8080) {
		t.Fatalf("vals %v err %v", vals, err)
	}
}

func FuzzCheck(f *testing.F) {
	form := loadExample(f)
	f.Add(`{"name":"Ada","email":"a@b.c","department":"engineering","team_size":"small","projects":[{"project_name":"x"}]}`)
	f.Add(`{"projects":[1,{"project_name":{}}],"skills":"go"}`)
	f.Add(`{"name":null,"department":["engineering"]}`)
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return
		}
		r := form.Check(m)
		for _, e := range r.Errors {
			if (e.Field == "" && e.Rule != "unknown") || e.Rule == "" || e.Message == "" {
				t.Fatalf("incomplete error %+v", e)
			}
		}
		if len(r.Errors) == 0 {
			out, err := Render(FormatNickel, r.Values)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parseNickelRecord(string(out)); err != nil {
				t.Fatalf("nickel output does not parse: %v\n%s", err, out)
			}
		}
	})
}
