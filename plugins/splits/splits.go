// Package splits is the expense-split community: a tenant of kind splits is
// a community where members form groups, record shared expenses, see who
// owes whom and settle up, earning coins for settling through the rules
// engine. This package registers the plugin through the engine's plugin
// contract; the community features arrive with it.
package splits

import "github.com/guildhall/guildhall/engine/plugin"

// Name is the plugin's name and the tenant kind it provides.
const Name = "splits"

// Plugin is the splits plugin.
type Plugin struct{}

// New returns the splits plugin.
func New() *Plugin { return &Plugin{} }

// Manifest implements plugin.Plugin.
func (*Plugin) Manifest() plugin.Manifest {
	return plugin.Manifest{
		Name:        Name,
		Title:       "Splits",
		Description: "Shared expenses: groups record who paid what, see who owes whom, and settle up.",
		Kind:        true,
		Welcome:     "Keep track of shared expenses, see who owes whom, and settle up without the awkward maths.",
		EventTypes: []plugin.EventType{
			{Type: "expense.created", Description: "Recording a shared expense", DefaultCoins: 2},
			{Type: "debt.settled", Description: "Settling up a debt", DefaultCoins: 5},
		},
		Features: []plugin.Feature{
			{Key: "splits.receipts", Name: "Receipts", Description: "Attach photos of receipts to expenses."},
			{Key: "splits.pdf_export", Name: "PDF export", Description: "Export a group's expenses and balances as a PDF."},
		},
	}
}
