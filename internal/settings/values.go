package settings

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The flag values of the common types, each bound to a field. Each prints
// the way it parses, so --help shows defaults as they would be typed, and
// names its type for --help (cli.Typed). A package with a type of its own
// (proxy's modes) writes a flag.Value with a Type method beside it.

// String binds a string field.
func String(p *string) flag.Value { return (*stringValue)(p) }

// List binds a repeatable setting: each flag, list item or comma-separated
// entry adds one value.
func List(p *[]string) flag.Value { return (*listValue)(p) }

// Int binds a whole number.
func Int(p *int) flag.Value { return (*intValue)(p) }

// Float binds a number.
func Float(p *float64) flag.Value { return (*floatValue)(p) }

// Bool binds a switch (--name alone means true).
func Bool(p *bool) flag.Value { return (*boolValue)(p) }

// Duration binds a duration such as 2s or 300ms.
func Duration(p *time.Duration) flag.Value { return (*durationValue)(p) }

// Size binds a size in bytes, given with or without KiB, MiB or GiB.
func Size(p *int) flag.Value { return (*sizeValue)(p) }

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (*stringValue) Type() string         { return "string" }

type listValue []string

func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) Set(s string) error {
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			*v = append(*v, x)
		}
	}
	return nil
}
func (*listValue) Type() string { return "file" }

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q: want a whole number", s)
	}
	*v = intValue(n)
	return nil
}
func (*intValue) Type() string { return "int" }

type floatValue float64

func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("%q: want a number", s)
	}
	*v = floatValue(f)
	return nil
}
func (*floatValue) Type() string { return "float" }

type boolValue bool

func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q: want true or false", s)
	}
	*v = boolValue(b)
	return nil
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q: want a duration such as 2s or 300ms", s)
	}
	*v = durationValue(d)
	return nil
}
func (*durationValue) Type() string { return "duration" }

type sizeValue int

func (v *sizeValue) String() string {
	n := int(*v)
	switch {
	case n > 0 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n > 0 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n)
}

func (v *sizeValue) Set(s string) error {
	t := strings.TrimSpace(s)
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return fmt.Errorf("%q: want a size in bytes, or with KiB, MiB or GiB", s)
	}
	*v = sizeValue(n * mult)
	return nil
}
func (*sizeValue) Type() string { return "size" }

// Pairs splits "a=1,b=2" (spaces allowed), for map-valued settings.
func Pairs(s string, each func(k, v string) error) error {
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return fmt.Errorf("%q: want name=value", p)
		}
		if err := each(k, v); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// JoinMap prints a map-valued setting as Pairs parses it, keys sorted.
func JoinMap[V any](m map[string]V, str func(V) string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + str(m[k])
	}
	return strings.Join(parts, ",")
}
