package lint

import (
	"bytes"
	"strings"
)

// eachLine calls fn for every non-blank line of NDJSON data with its record
// index (0-based), its 1-based file line and the byte offset where it starts.
func eachLine(data []byte, fn func(index, line, offset int, rec []byte)) error {
	index, line, off := 0, 1, 0
	for off < len(data) {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += off
		}
		rec := data[off:end]
		if len(bytes.TrimSpace(rec)) > 0 {
			fn(index, line, off, rec)
			index++
		}
		off = end + 1
		line++
	}
	return nil
}

type route uint8

const (
	routeNone route = iota
	routeOrderV2
	routeOrderV3
	routeStatus
)

// forterRoute recognizes /v2/orders/{id}, /v3/orders/{id} and /v2/status/{id}.
func forterRoute(p string) route {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) != 3 || parts[2] == "" {
		return routeNone
	}
	switch parts[0] + "/" + parts[1] {
	case "v2/orders":
		return routeOrderV2
	case "v3/orders":
		return routeOrderV3
	case "v2/status":
		return routeStatus
	}
	return routeNone
}

// matchTemplate reports whether path fits an OpenAPI path template
// (/v2/accounts/login/{accountId}): the same segments, a parameter matching
// any non-empty one.
func matchTemplate(template, path string) bool {
	ts := strings.Split(strings.Trim(template, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	if len(ts) != len(ps) {
		return false
	}
	for i, t := range ts {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if ps[i] == "" {
				return false
			}
		} else if t != ps[i] {
			return false
		}
	}
	return true
}

// topLevelHas reports whether body is a JSON object with a member named one
// of keys. It skips values without decoding them and gives up (false) on
// malformed input: the validator reports that.
func topLevelHas(body []byte, keys ...string) bool {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i++
	for {
		i = skipWS(body, i)
		if i >= len(body) || body[i] != '"' {
			return false
		}
		end := skipString(body, i)
		if end < 0 {
			return false
		}
		name := body[i+1 : end-1]
		for _, k := range keys {
			if string(name) == k {
				return true
			}
		}
		i = skipWS(body, end)
		if i >= len(body) || body[i] != ':' {
			return false
		}
		i = skipValue(body, skipWS(body, i+1))
		if i < 0 {
			return false
		}
		i = skipWS(body, i)
		if i >= len(body) || body[i] != ',' {
			return false
		}
		i++
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"', or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				if i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}
