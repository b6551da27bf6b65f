package engine

import (
	"fmt"
	"testing"
)

// TestClientIPPreservationTruthTable is the table of AWS's "Edit target
// group attributes for your Network Load Balancer", Client IP
// preservation: "enabled (and can't be disabled) for instance and IP type
// target groups with UDP, TCP_UDP, QUIC, and TCP_QUIC protocols";
// preserve_client_ip.enabled decides for TCP and TLS target groups, and
// defaults to enabled for instance targets, disabled for IP targets.
func TestClientIPPreservationTruthTable(t *testing.T) {
	on, off := true, false
	tests := []struct {
		targetType, protocol string
		attr                 *bool
		want                 bool
	}{
		// Defaults.
		{"instance", "TCP", nil, true},
		{"instance", "TLS", nil, true},
		{"ip", "TCP", nil, false},
		{"ip", "TLS", nil, false},
		{"instance", "UDP", nil, true},
		{"ip", "UDP", nil, true},
		{"ip", "TCP_UDP", nil, true},
		{"ip", "QUIC", nil, true},
		{"ip", "TCP_QUIC", nil, true},
		// The attribute decides for TCP and TLS.
		{"ip", "TCP", &on, true},
		{"ip", "TLS", &on, true},
		{"instance", "TCP", &off, false},
		{"instance", "TLS", &off, false},
		// It cannot turn preservation off for the others.
		{"ip", "UDP", &off, true},
		{"ip", "TCP_UDP", &off, true},
		{"ip", "QUIC", &off, true},
		{"ip", "TCP_QUIC", &off, true},
		{"instance", "UDP", &off, true},
		{"instance", "TCP_QUIC", &off, true},
		// An Application Load Balancer's target groups see the load
		// balancer (it opens its own connections).
		{"ip", "HTTP", &on, false},
		{"instance", "HTTPS", nil, false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%s/%v", tt.targetType, tt.protocol, tt.attr)
		if tt.attr != nil {
			name = fmt.Sprintf("%s/%s/%v", tt.targetType, tt.protocol, *tt.attr)
		}
		if got := clientIPPreserved(tt.targetType, tt.protocol, tt.attr); got != tt.want {
			t.Errorf("%s: preserved %v, want %v", name, got, tt.want)
		}
	}
}
