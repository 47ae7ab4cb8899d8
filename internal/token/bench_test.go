package token

import "testing"

func BenchmarkSign(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			r, _, clk := newTestRing(b, alg)
			c := testClaims(clk.Now())
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := r.Sign(c); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			r, _, clk := newTestRing(b, alg)
			tok, err := r.Sign(testClaims(clk.Now()))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := r.Verify(tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
