package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestContextStopsTheAnalysis: a done Options.Context stops Analyse
// (with its cause) when the world has policies, and makes Reach stop
// early with Err set; a live one changes nothing.
func TestContextStopsTheAnalysis(t *testing.T) {
	stop := errors.New("interrupted by SIGINT")
	r := rand.New(rand.NewPCG(7, 7))
	tried := 0
	for range 20 {
		w, _ := randomWorld(r)
		if len(w.Policies) == 0 {
			continue
		}
		tried++
		done, cancel := context.WithCancelCause(context.Background())
		cancel(stop)
		if _, err := Analyse(w, Options{Context: done}); !errors.Is(err, stop) {
			t.Fatalf("Analyse with a done context: %v, want %v", err, stop)
		}

		full, err := Analyse(w, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := full.Reach()
		if full.Err() != nil {
			t.Fatalf("Err without a context: %v", full.Err())
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		a, err := Analyse(w, Options{Context: ctx})
		if err != nil {
			t.Fatal(err)
		}
		if a.Err() != nil {
			t.Fatalf("Err before the stop: %v", a.Err())
		}
		cancel(stop)
		got := a.Reach()
		if !errors.Is(a.Err(), stop) {
			t.Fatalf("Err after the stop: %v", a.Err())
		}
		// Stopped before any source was visited: nothing between pods.
		if len(want.Connections) > 0 && len(got.Connections) >= len(want.Connections) {
			t.Errorf("a stopped Reach still computed %d of %d connections", len(got.Connections), len(want.Connections))
		}
	}
	if tried == 0 {
		t.Fatal("no world with policies")
	}
}
