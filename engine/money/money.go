// Package money holds what Guildhall knows about currencies. Amounts of
// money are always integers in a currency's minor unit (cents for EUR, yen
// for JPY, fils for KWD) next to the ISO 4217 code; never floats.
package money

import "strings"

// Currency is an ISO 4217 currency in circulation.
type Currency struct {
	Code string
	// MinorUnits is the number of decimal digits of the minor unit:
	// 2 for EUR (cents), 0 for JPY, 3 for KWD.
	MinorUnits int
}

// LookupCurrency returns the currency with the given ISO 4217 code
// (upper-case). Fund codes, precious metals and withdrawn currencies are not
// known: a tenant cannot price anything in them.
func LookupCurrency(code string) (Currency, bool) {
	mu, ok := currencies[code]
	if !ok {
		return Currency{}, false
	}
	return Currency{Code: code, MinorUnits: mu}, true
}

// CurrencyCodes returns every known code, sorted.
func CurrencyCodes() []string {
	codes := strings.Fields(codeList)
	return codes
}

// codeList is every key of currencies, sorted; kept as text so the sorted
// order is obvious and testable.
const codeList = `AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD
SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX
USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG`

// currencies maps each code to its minor units. Most have 2; the
// exceptions are listed.
var currencies = func() map[string]int {
	m := map[string]int{}
	for _, c := range strings.Fields(codeList) {
		m[c] = 2
	}
	for _, c := range strings.Fields("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF") {
		m[c] = 0
	}
	for _, c := range strings.Fields("BHD IQD JOD KWD LYD OMR TND") {
		m[c] = 3
	}
	return m
}()
