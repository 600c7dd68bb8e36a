package console

import (
	"net/http"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/rules"
)

// coinSettingsView is the coin settings form.
type coinSettingsView struct {
	Form  *formReader
	Error string
	Saved bool
}

var coinSettingsLabels = map[string]string{
	"member_daily_cap": "Member daily cap", "daily_budget": "Daily budget", "expiry_days": "Expiry days",
	"bonus_coins": "Weekly bonus coins", "bonus_min_active_days": "Active days for the bonus",
}

func (c *console) coinSettingsPage(w http.ResponseWriter, r *http.Request) {
	st, err := c.rules.Settings(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	f := newFormReader(nil)
	f.Values = map[string]string{
		"member_daily_cap": optional(&st.MemberDailyCap, ""), "daily_budget": numberValue(st.DailyBudget),
		"expiry_days": numberValue(st.ExpiryDays), "bonus_coins": optional(&st.BonusCoins, ""),
		"bonus_min_active_days": numberValue(&st.BonusMinActiveDays),
	}
	v := coinSettingsView{Form: f, Saved: r.URL.Query().Get("saved") == "1"}
	c.render(w, r, http.StatusOK, coinSettingsPage(c.chrome(r, "Coin settings", "rules"), v))
}

func (c *console) saveCoinSettings(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	f := newFormReader(r.PostForm)
	st := rules.Settings{
		MemberDailyCap: f.integer("member_daily_cap", coinSettingsLabels["member_daily_cap"]),
		DailyBudget:    f.optInteger("daily_budget", coinSettingsLabels["daily_budget"]),
		ExpiryDays:     f.optInt("expiry_days", coinSettingsLabels["expiry_days"]),
		BonusCoins:     f.integer("bonus_coins", coinSettingsLabels["bonus_coins"]),
	}
	if n := f.optInt("bonus_min_active_days", coinSettingsLabels["bonus_min_active_days"]); n != nil {
		st.BonusMinActiveDays = *n
	} else if f.Errors["bonus_min_active_days"] == "" {
		f.Errors["bonus_min_active_days"] = sentence(coinSettingsLabels["bonus_min_active_days"] + " is required")
	}
	if len(f.Errors) > 0 {
		v := coinSettingsView{Form: f, Error: f.merge(st.Validate(), coinSettingsLabels, nil, "Nothing was saved.")}
		c.renderPage(w, r, http.StatusUnprocessableEntity, coinSettingsPage(c.chrome(r, "Coin settings", "rules"), v))
		return
	}
	_, err := c.rules.SetSettings(r.Context(), st)
	switch engine.ErrorCode(err) {
	case "":
		redirect(w, r, consoleBase(r.Context())+"/coin-settings?saved=1")
	case engine.CodeInvalid:
		v := coinSettingsView{Form: f, Error: f.merge(err, coinSettingsLabels, nil, "Nothing was saved.")}
		c.renderPage(w, r, http.StatusUnprocessableEntity, coinSettingsPage(c.chrome(r, "Coin settings", "rules"), v))
	default:
		c.fail(w, r, err)
	}
}
