package sandbox_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/orderguard/orderguard/internal/sandbox"
)

// Another package's test starts a sandbox on 127.0.0.1 with a random port,
// sends it an order, takes it down and brings it back on the same address.
func ExampleStart() {
	sb, err := sandbox.Start(sandbox.Options{}) // Options{TLS: true} for HTTPS; sb.ClientTLS() trusts it
	if err != nil {
		panic(err)
	}
	defer sb.Close()

	req, _ := http.NewRequest("POST", sb.URL+"/v2/orders/ex-1", strings.NewReader(`{"orderId":"ex-1"}`))
	req.SetBasicAuth("test-key", "")
	req.Header.Set("api-version", "2.3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(string(body), `"message":"Malformed request"`))

	_ = sb.Stop()    // connections refused from now on
	_ = sb.Restart() // same address, same received log
	fmt.Println(sb.Received().Order(sandbox.EndpointOrderV2, "ex-1").Received)
	// Output:
	// 400 true
	// 1
}
