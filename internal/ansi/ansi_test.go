package ansi

import "testing"

func TestStrip(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                            "plain",
		"\x1b[31mred\x1b[0m":               "red",
		"\x1b[1;38;5;196mbold\x1b[0m tail": "bold tail",
		"cut \x1b[31":                      "cut ",
		"lone \x1b escape":                 "lone \x1b escape",
	} {
		if got := Strip(in); got != want {
			t.Errorf("Strip(%q) = %q, want %q", in, got, want)
		}
	}
}
