package sandbox

import (
	"net/http"
	"strings"
	"testing"
)

// FetchReceived reads what a real sandbox received over HTTP, and says
// clearly when the address does not answer the received log.
func TestFetchReceived(t *testing.T) {
	sb, err := Start(Options{Config: Config{SkipValidation: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	req, _ := http.NewRequest("POST", sb.URL+"/v2/orders/F-1", strings.NewReader(`{"orderId":"F-1"}`))
	req.SetBasicAuth("k", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got, err := FetchReceived(nil, sb.URL)
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Order(EndpointOrderV2, "F-1"); c.Received != 1 || len(got.Arrivals) != 1 {
		t.Errorf("received %+v, arrivals %+v: want order F-1 once", c, got.Arrivals)
	}
	if _, err := FetchReceived(nil, sb.URL+"/nowhere"); err == nil || !strings.Contains(err.Error(), "status 404") {
		t.Errorf("FetchReceived of a path that is no sandbox's = %v, want the status named", err)
	}
}
