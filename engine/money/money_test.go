package money

import (
	"slices"
	"testing"
)

func TestLookupCurrency(t *testing.T) {
	tests := []struct {
		code   string
		ok     bool
		minors int
	}{
		{"EUR", true, 2},
		{"JPY", true, 0},
		{"KWD", true, 3},
		{"USD", true, 2},
		{"eur", false, 0},
		{"XAU", false, 0}, // gold is not a currency to price in
		{"HRK", false, 0}, // withdrawn
		{"", false, 0},
		{"EURO", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			c, ok := LookupCurrency(tt.code)
			if ok != tt.ok || c.MinorUnits != tt.minors {
				t.Errorf("LookupCurrency(%q) = %+v, %v; want minor units %d, %v", tt.code, c, ok, tt.minors, tt.ok)
			}
		})
	}
}

func TestCurrencyCodesSortedAndUnique(t *testing.T) {
	codes := CurrencyCodes()
	if !slices.IsSorted(codes) {
		t.Errorf("CurrencyCodes() is not sorted")
	}
	if len(slices.Compact(slices.Clone(codes))) != len(codes) {
		t.Errorf("CurrencyCodes() has duplicates")
	}
	for _, c := range codes {
		if _, ok := LookupCurrency(c); !ok {
			t.Errorf("LookupCurrency(%q) not found", c)
		}
	}
}
