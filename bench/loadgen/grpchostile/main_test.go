package main

import (
	"bytes"
	"image/png"
	"testing"
)

func TestHugePNGClaimsMorePixelsThanTheLimit(t *testing.T) {
	const limit = 40_000_000
	cfg, err := png.DecodeConfig(bytes.NewReader(hugePNG(limit)))
	if err != nil {
		t.Fatalf("the header must still parse (a valid CRC): %v", err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px <= limit {
		t.Errorf("header claims %dx%d = %d pixels, want over %d", cfg.Width, cfg.Height, px, limit)
	}
}

func TestCasesAreDeterministicAndNamed(t *testing.T) {
	img := []byte("\x89PNG not really")
	cat := Catalogue("m", img, 1<<10, 1<<20)
	names := map[string]bool{}
	for _, c := range cat {
		key := c.API + " " + c.Name
		if names[key] || c.method == "" {
			t.Errorf("case %q: repeated, or no method", key)
		}
		names[key] = true
	}
	if len(cat) < 40 {
		t.Errorf("%d catalogue cases, want the whole catalogue", len(cat))
	}
	a, b := Mutants("m", img, 20, 3), Mutants("m", img, 20, 3)
	if len(a) != 40 {
		t.Fatalf("%d mutants, want 20 of each API", len(a))
	}
	for i := range a {
		if !bytes.Equal(a[i].body, b[i].body) {
			t.Fatalf("mutant %d differs between runs with one seed", i)
		}
	}
}
