// Package contentcoding reads request bodies sent with a Content-Encoding
// (RFC 9110 8.4): gzip and deflate, decoded under a size cap with pooled
// decoders. The proxy validates the decoded bytes (and forwards the bytes as
// received); lint reads .json.gz files with it.
//
// It must never decode past the cap (a decompression bomb costs at most the
// cap and one read buffer), nor echo a coding name it does not know: a
// header value is client data.
package contentcoding

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Coding is a content coding this package can decode.
type Coding uint8

const (
	Identity Coding = iota // no coding: the bytes are the body
	Gzip                   // gzip (RFC 1952), also spelled x-gzip
	Deflate                // deflate: zlib (RFC 1950), or raw deflate (RFC 1951) as some clients send it
)

func (c Coding) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case Deflate:
		return "deflate"
	}
	return "identity"
}

// Errors, wrapped with what was found.
var (
	ErrUnsupported = errors.New("unsupported content coding")
	ErrTooLarge    = errors.New("decoded body larger than the limit")
	ErrCorrupt     = errors.New("body does not decode")
)

// registered are codings of the IANA registry this package does not decode:
// named in errors. Any other name is "an unregistered coding".
var registered = []string{"br", "zstd", "compress", "x-compress", "exi", "pack200-gzip", "aes128gcm", "dcb", "dcz"}

// Parse reads a Content-Encoding field value: codings separated by commas,
// in the order they were applied, case-insensitive. identity and empty
// elements are skipped. More than one coding (a stacked encoding such as
// "gzip, gzip") is refused like an unknown one: no client library sends it.
func Parse(v []byte) (Coding, error) {
	found := Identity
	for len(v) > 0 {
		var elem []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			elem, v = v[:i], v[i+1:]
		} else {
			elem, v = v, nil
		}
		elem = bytes.Trim(elem, " \t")
		var c Coding
		switch {
		case len(elem) == 0, bytes.EqualFold(elem, []byte("identity")):
			continue
		case bytes.EqualFold(elem, []byte("gzip")), bytes.EqualFold(elem, []byte("x-gzip")):
			c = Gzip
		case bytes.EqualFold(elem, []byte("deflate")):
			c = Deflate
		default:
			for _, name := range registered {
				if bytes.EqualFold(elem, []byte(name)) {
					return Identity, fmt.Errorf("%w %q (this proxy reads gzip and deflate)", ErrUnsupported, name)
				}
			}
			return Identity, fmt.Errorf("%w: an unregistered coding (this proxy reads gzip and deflate)", ErrUnsupported)
		}
		if found != Identity {
			return Identity, fmt.Errorf("%w: %s applied over %s (this proxy reads one coding)", ErrUnsupported, c, found)
		}
		found = c
	}
	return found, nil
}

// Decode appends the body src, coded with c, decoded to dst, and fails with
// ErrTooLarge as soon as more than max bytes come out (max <= 0: no cap).
func Decode(dst []byte, c Coding, src []byte, max int) ([]byte, error) {
	switch c {
	case Identity:
		if max > 0 && len(src) > max {
			return dst, fmt.Errorf("%w of %d bytes", ErrTooLarge, max)
		}
		return append(dst, src...), nil
	case Gzip:
		return decodeGzip(dst, src, max)
	case Deflate:
		return decodeDeflate(dst, src, max)
	}
	return dst, fmt.Errorf("%w: %d", ErrUnsupported, c)
}

// decoder is one pooled decoder with the reader of its input, so that a warm
// decode allocates nothing of its own.
type decoder struct {
	src bytes.Reader
	gz  *gzip.Reader
	zl  io.ReadCloser // a zlib.Resetter
	fl  io.ReadCloser // a flate.Resetter
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

func decodeGzip(dst, src []byte, max int) ([]byte, error) {
	d := decoders.Get().(*decoder)
	defer decoders.Put(d)
	d.src.Reset(src)
	var err error
	if d.gz == nil {
		d.gz, err = gzip.NewReader(&d.src)
	} else {
		err = d.gz.Reset(&d.src)
	}
	if err != nil {
		d.gz = nil // a failed NewReader returns nil; a failed Reset leaves it unusable
		return dst, corrupt(Gzip, err)
	}
	return readAll(dst, d.gz, Gzip, max)
}

func decodeDeflate(dst, src []byte, max int) ([]byte, error) {
	d := decoders.Get().(*decoder)
	defer decoders.Put(d)
	d.src.Reset(src)
	if isZlib(src) {
		var err error
		if d.zl == nil {
			d.zl, err = zlib.NewReader(&d.src)
		} else {
			err = d.zl.(zlib.Resetter).Reset(&d.src, nil)
		}
		if err != nil {
			d.zl = nil
			return dst, corrupt(Deflate, err)
		}
		return readAll(dst, d.zl, Deflate, max)
	}
	if d.fl == nil {
		d.fl = flate.NewReader(&d.src)
	} else if err := d.fl.(flate.Resetter).Reset(&d.src, nil); err != nil {
		d.fl = nil
		return dst, corrupt(Deflate, err)
	}
	return readAll(dst, d.fl, Deflate, max)
}

// isZlib reports whether b starts with a zlib header (RFC 1950 2.2): method 8,
// window at most 32 KiB, and the check bits.
func isZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// readAll reads r to its end into dst, growing it, but never past max bytes.
func readAll(dst []byte, r io.Reader, c Coding, max int) ([]byte, error) {
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		end := cap(dst)
		if max > 0 && end > start+max+1 {
			end = start + max + 1 // one byte more than allowed tells "too large"
		}
		n, err := r.Read(dst[len(dst):end])
		dst = dst[:len(dst)+n]
		if max > 0 && len(dst)-start > max {
			return dst[:start+max], fmt.Errorf("%w of %d bytes", ErrTooLarge, max)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, corrupt(c, err)
		}
	}
}

func corrupt(c Coding, err error) error {
	switch {
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, zlib.ErrHeader):
		return fmt.Errorf("%w: labelled %s but not %s data", ErrCorrupt, c, c)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %s data ends early (truncated)", ErrCorrupt, c)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, zlib.ErrChecksum):
		return fmt.Errorf("%w: %s checksum mismatch", ErrCorrupt, c)
	}
	var ce flate.CorruptInputError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: %s data is corrupt at byte %d of the compressed stream", ErrCorrupt, c, int64(ce))
	}
	return fmt.Errorf("%w: %s: %v", ErrCorrupt, c, err)
}
