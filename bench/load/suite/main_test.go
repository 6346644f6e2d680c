package suite

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParseRates(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []float64
		err  bool
	}{
		{"1000,5000,max", []float64{1000, 5000, 0}, false},
		{" 10 , 2.5 ", []float64{10, 2.5}, false},
		{"max", []float64{0}, false},
		{"", nil, true},
		{"0", nil, true},
		{"-5", nil, true},
		{"fast", nil, true},
	} {
		got, err := ParseRates(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseRates(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestMainFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "usage: orderguard bench"},
		{[]string{"--rates", "fast"}, 2, "rate \"fast\""},
		{[]string{"--nope"}, 2, "flag provided but not defined"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"--payloads", "/nonexistent"}, 1, "read payload dir"},
		{[]string{"--targets", "nosuch", "--payloads", "../../testdata/load", "--binary", "/bin/false", "--logs", "LOGDIR"}, 1, "sandbox exited"},
		{[]string{"--url", "https://127.0.0.1:1", "--payloads", "../../testdata/load"}, 1, "--url needs --api-key-file"},
		{[]string{"--serve-baseline", "--upstream", "nope"}, 1, "want http://host:port"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string(nil), tc.args...)
			for i, a := range args {
				if a == "LOGDIR" {
					args[i] = t.TempDir() // a failed run keeps its logs: keep them in the test's dir
				}
			}
			code := Main(args, &out, &errOut, false)
			if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.want) {
				t.Errorf("exit %d, want %d; output %q, want it to contain %q", code, tc.code, out.String()+errOut.String(), tc.want)
			}
		})
	}
}
