package demo

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/internal/httpx"
)

// Channels of the demo world.
const (
	ChannelBroker      = "gailbkr_ALL"
	ChannelUnderwriter = "mcneillieuwr_ALL"
	channelOther       = "otherbkr_ALL"
)

// Document counts: the SUMO user sees BrokerRisks through the broker
// membership and UnderwriterRisks through the underwriter one, as in the
// seed; some documents are shared by both, and some belong to neither.
const (
	BrokerRisks      = 1528
	UnderwriterRisks = 439
	sharedRisks      = 312
	otherRisks       = 61
	totalRisks       = BrokerRisks + UnderwriterRisks - sharedRisks + otherRisks
)

// Risk is one risk document, with the seed's fields first.
type Risk struct {
	ContractType string   `json:"ContractType"`
	InsuredName  string   `json:"InsuredName"`
	IsFacility   bool     `json:"IsFacility"`
	Status       string   `json:"Status"`
	Channels     []string `json:"channels"`
	ID           string   `json:"id"`
	UMR          string   `json:"UMR"`
	Year         int      `json:"Year"`
	Premium      int      `json:"Premium"`
	Currency     string   `json:"Currency"`
}

var (
	contractTypes = []string{"Non-Bulking Line Slip", "Open Market", "Binding Authority", "Bulking Line Slip", "Consortium", "Facultative"}
	insuredNames  = []string{"AV Facility", "Harbour Freight Ltd", "Northern Energy plc", "Atlas Aviation", "Blue Water Marine",
		"Crown Property Holdings", "Delta Logistics", "Evergreen Farms", "Falcon Cyber", "Granite Construction"}
	statuses   = []string{"Signed", "Bound", "Quoted", "Draft", "Declined", "Written"}
	currencies = []string{"GBP", "USD", "EUR"}
)

// Risks returns the demo's risk documents, the same on every call and
// every machine: a fixed xorshift sequence drives every choice, and the
// first document is the seed's.
func Risks() []Risk {
	kinds := make([]int, 0, totalRisks) // 0 both, 1 broker, 2 underwriter, 3 neither
	add := func(kind, n int) {
		for range n {
			kinds = append(kinds, kind)
		}
	}
	add(0, sharedRisks)
	add(1, BrokerRisks-sharedRisks)
	add(2, UnderwriterRisks-sharedRisks)
	add(3, otherRisks)
	r := xorshift(0x5eed0f7a11)
	for i := len(kinds) - 1; i > 0; i-- {
		j := int(r.next() % uint64(i+1))
		kinds[i], kinds[j] = kinds[j], kinds[i]
	}
	if k := slices.Index(kinds, 0); k > 0 {
		kinds[0], kinds[k] = kinds[k], kinds[0]
	}
	out := make([]Risk, len(kinds))
	for i, kind := range kinds {
		ct := contractTypes[r.next()%uint64(len(contractTypes))]
		d := Risk{
			ContractType: ct,
			InsuredName:  insuredNames[r.next()%uint64(len(insuredNames))],
			IsFacility:   strings.Contains(ct, "Line Slip") || ct == "Binding Authority",
			Status:       statuses[r.next()%uint64(len(statuses))],
			ID:           fmt.Sprintf("IC%08d", i+1),
			UMR:          fmt.Sprintf("B0999%s2026%05d", []string{"GB", "MC", "OT", "XX"}[kind], i+1),
			Year:         2024 + int(r.next()%3),
			Premium:      1000 * int(10+r.next()%990),
			Currency:     currencies[r.next()%uint64(len(currencies))],
		}
		switch kind {
		case 0:
			d.Channels = []string{ChannelBroker, ChannelUnderwriter}
		case 1:
			d.Channels = []string{ChannelBroker}
		case 2:
			d.Channels = []string{ChannelUnderwriter}
		default:
			d.Channels = []string{channelOther}
		}
		out[i] = d
	}
	out[0].ContractType, out[0].InsuredName, out[0].IsFacility, out[0].Status = "Non-Bulking Line Slip", "AV Facility", true, "Signed"
	return out
}

type xorshift uint64

func (x *xorshift) next() uint64 {
	v := uint64(*x)
	v ^= v << 13
	v ^= v >> 7
	v ^= v << 17
	*x = xorshift(v)
	return v
}

// Identity headers the risks service trusts (set by tokengate's proxy).
const (
	headerUser     = "X-Tokengate-User"
	headerChannels = "X-Tokengate-Channels"
)

// RisksHandler is the demo risks service: an ordinary upstream that trusts
// only the proxy's identity headers and shows each caller the documents
// whose channels intersect the channels of the caller's membership.
//
//	GET /risks        the visible documents (a JSON array)
//	GET /risks/{id}   one visible document
//
// It must only be reachable through the proxy (it listens on loopback):
// anyone who can reach it directly can claim any identity.
func RisksHandler() http.Handler {
	docs := Risks()
	visible := func(r *http.Request) ([]Risk, bool) {
		if r.Header.Get(headerUser) == "" {
			return nil, false
		}
		var chans []string
		for c := range strings.SplitSeq(r.Header.Get(headerChannels), ",") {
			if c = strings.TrimSpace(c); c != "" {
				chans = append(chans, c)
			}
		}
		out := []Risk{}
		for _, d := range docs {
			if slices.ContainsFunc(d.Channels, func(c string) bool { return slices.Contains(chans, c) }) {
				out = append(out, d)
			}
		}
		return out, true
	}
	deny := func(w http.ResponseWriter) {
		httpx.WriteJSON(w, http.StatusUnauthorized, map[string]any{"reason": "Invalid WSAUTH: no identity from the gateway", "error": true})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /risks", func(w http.ResponseWriter, r *http.Request) {
		v, ok := visible(r)
		if !ok {
			deny(w)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /risks/{id}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := visible(r)
		if !ok {
			deny(w)
			return
		}
		for _, d := range v {
			if d.ID == r.PathValue("id") {
				httpx.WriteJSON(w, http.StatusOK, d)
				return
			}
		}
		httpx.WriteJSON(w, http.StatusNotFound, map[string]any{"reason": "no such risk", "error": true})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}
