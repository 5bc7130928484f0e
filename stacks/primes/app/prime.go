package main

import (
	"fmt"
	"math/rand/v2"
)

// maxDigits keeps every candidate and its square root inside uint64. Trial
// division costs about 10^(digits/2) steps, so 18 digits is already seconds.
const maxDigits = 18

// randomPrime returns a prime with exactly digits decimal digits: the first
// prime at or after a random point in [10^(digits-1), 10^digits), wrapping to
// the start of the range. Trial division is deliberately naive: the cost of a
// request is the point of this app, and it grows predictably with digits.
func randomPrime(digits int) (uint64, error) {
	if digits < 1 || digits > maxDigits {
		return 0, fmt.Errorf("digits %d out of range 1..%d", digits, maxDigits)
	}
	lo := pow10(digits - 1)
	hi := pow10(digits)
	if digits == 1 {
		lo = 0 // so that 2, 3, 5 and 7 can all be chosen
	}
	start := lo + rand.Uint64N(hi-lo)
	for n := start; n < hi; n++ {
		if isPrime(n) {
			return n, nil
		}
	}
	// Every decade holds a prime (Bertrand), so the wrap-around always finds one.
	for n := lo; n < start; n++ {
		if isPrime(n) {
			return n, nil
		}
	}
	return 0, fmt.Errorf("no %d-digit prime found", digits)
}

func isPrime(n uint64) bool {
	switch {
	case n < 2:
		return false
	case n < 4:
		return true
	case n%2 == 0 || n%3 == 0:
		return false
	}
	// Every prime above 3 is 6k±1; d*d cannot overflow because n < 10^18.
	for d := uint64(5); d*d <= n; d += 6 {
		if n%d == 0 || n%(d+2) == 0 {
			return false
		}
	}
	return true
}

func pow10(e int) uint64 {
	p := uint64(1)
	for range e {
		p *= 10
	}
	return p
}
