package proxy

import (
	"fmt"
	"strings"
)

// route is one spec operation's method and path template, split into
// segments once so that matching a request walks the path bytes without
// allocating.
type route struct {
	method string
	segs   []segment
}

type segment struct {
	lit   string // the literal segment; empty for a parameter
	param bool
}

func compileRoute(method, template string) (route, error) {
	if !strings.HasPrefix(template, "/") {
		return route{}, fmt.Errorf("path template %q: want a leading /", template)
	}
	r := route{method: method}
	for _, s := range strings.Split(template[1:], "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			r.segs = append(r.segs, segment{param: true})
			continue
		}
		if strings.ContainsAny(s, "{}") {
			return route{}, fmt.Errorf("path template %q: a parameter must be a whole segment", template)
		}
		r.segs = append(r.segs, segment{lit: s})
	}
	return r, nil
}

// match reports whether method and path fit the route, and returns the first
// parameter (the order id), which aliases path. A parameter must be non-empty.
func (r *route) match(method, path []byte) ([]byte, bool) {
	if string(method) != r.method || len(path) == 0 || path[0] != '/' {
		return nil, false
	}
	rest := path[1:]
	var id []byte
	for i, s := range r.segs {
		end := len(rest)
		for j, c := range rest {
			if c == '/' {
				end = j
				break
			}
		}
		seg := rest[:end]
		if s.param {
			if len(seg) == 0 {
				return nil, false
			}
			if id == nil {
				id = seg
			}
		} else if string(seg) != s.lit {
			return nil, false
		}
		if i == len(r.segs)-1 {
			if end != len(rest) {
				return nil, false // more segments than the template
			}
			return id, true
		}
		if end == len(rest) {
			return nil, false // fewer segments than the template
		}
		rest = rest[end+1:]
	}
	return id, true
}
