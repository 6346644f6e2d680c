package main

// Mozilla's root certificates, compiled in and used only when the system has
// none: the orderguard image ships no /etc/ssl (see internal/image), and the
// binary must still verify Forter's TLS certificate there. On a host with a
// CA bundle, that bundle is used as before.
import _ "golang.org/x/crypto/x509roots/fallback"
