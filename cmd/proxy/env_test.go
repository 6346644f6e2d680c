package main

import (
	"reflect"
	"testing"

	"github.com/orderguard/orderguard/internal/settings"
)

func TestUnknownEnv(t *testing.T) {
	got := settings.UnknownEnv([]string{
		"PATH=/usr/bin",
		"ORDERGUARD_MODE=report",        // a setting
		"ORDERGUARD_API_KEY=k",          // a secret
		"ORDERGUARD_CONFIG=/etc/og.yml", // the config file
		"ORDERGUARD_ADMIN_TOKEN=t",
		"ORDERGUARD_INBOUND_SECRET=s",
		"ORDERGUARD_MAX_BODY=2MiB",
		"ORDERGUARD_OUTBOX_NATS_USER=u", // the fleet outbox's credentials
		"ORDERGUARD_OUTBOX_NATS_PASSWORD=p",
		"ORDERGUARD_OUTBOX_NATS_TOKEN=t",
		"ORDERGUARD_MODEE=report",        // one letter too many
		"ORDERGUARD_APIKEY=secret-value", // a missing underscore
		"ORDERGUARD_COLOUR=never",        // nothing close
		"ORDERGUARD_=x",
		"orderguard_mode=report", // not the prefix: variables are case-sensitive
	}, knownEnv())
	want := []settings.UnknownEnvVar{
		{Name: "ORDERGUARD_"},
		{Name: "ORDERGUARD_APIKEY", Suggest: "ORDERGUARD_API_KEY"},
		{Name: "ORDERGUARD_COLOUR"},
		{Name: "ORDERGUARD_MODEE", Suggest: "ORDERGUARD_MODE"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UnknownEnv = %+v\nwant %+v", got, want)
	}
	for _, name := range knownEnv() {
		if u := settings.UnknownEnv([]string{name + "=x"}, knownEnv()); u != nil {
			t.Errorf("%s is read by serve, reported as unknown: %+v", name, u)
		}
	}
}
