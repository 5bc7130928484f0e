package main

import (
	"strconv"
	"testing"
)

func TestIsPrime(t *testing.T) {
	tests := []struct {
		n    uint64
		want bool
	}{
		{0, false}, {1, false}, {2, true}, {3, true}, {4, false}, {5, true},
		{9, false}, {25, false}, {49, false}, {97, true}, {7919, true},
		{1_000_003, true}, {999_999_999_989, true}, {999_999_999_991, false},
		{1_000_033, true}, {1_000_003 * 1_000_033, false}, {1_000_003 * 1_000_003, false},
	}
	for _, tt := range tests {
		if got := isPrime(tt.n); got != tt.want {
			t.Errorf("isPrime(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestRandomPrimeHasRequestedDigits(t *testing.T) {
	for digits := 1; digits <= 12; digits++ {
		for range 20 {
			p, err := randomPrime(digits)
			if err != nil {
				t.Fatalf("randomPrime(%d): %v", digits, err)
			}
			if got := len(strconv.FormatUint(p, 10)); got != digits {
				t.Fatalf("randomPrime(%d) = %d, which has %d digits", digits, p, got)
			}
			if !isPrime(p) {
				t.Fatalf("randomPrime(%d) = %d, which is not prime", digits, p)
			}
		}
	}
}

func TestRandomPrimeRejectsDigitsOutOfRange(t *testing.T) {
	for _, digits := range []int{-1, 0, maxDigits + 1} {
		if _, err := randomPrime(digits); err == nil {
			t.Errorf("randomPrime(%d): want error", digits)
		}
	}
}

func BenchmarkRandomPrime(b *testing.B) {
	for _, digits := range []int{6, 8, 10, 11, 12, 13, 14} {
		b.Run(strconv.Itoa(digits), func(b *testing.B) {
			for b.Loop() {
				if _, err := randomPrime(digits); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
