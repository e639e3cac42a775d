package outbox

import (
	"strings"
	"testing"
)

func TestTokenRoundTripAndForgery(t *testing.T) {
	tk := NewTokens([]byte("0123456789abcdef0123456789abcdef"))
	other := NewTokens([]byte("another secret that is long enough"))
	for _, id := range []uint64{1, 127, 128, 1 << 20, 1<<63 + 5} {
		tok := tk.Token(id)
		if tok != strings.ToLower(tok) || strings.ContainsAny(tok, "=+/") {
			t.Errorf("Token(%d) = %q; want lower-case base32 without padding", id, tok)
		}
		for _, variant := range []string{tok, strings.ToUpper(tok)} {
			if got, ok := tk.Parse(variant); !ok || got != id {
				t.Errorf("Parse(%q) = %d, %v; want %d, true", variant, got, ok, id)
			}
		}
		if got, ok := tk.FromAddress(ReplyAddress("Campaign@Example.org", strings.ToUpper(tok))); !ok || got != id {
			t.Errorf("FromAddress(reply address of %d) = %d, %v", id, got, ok)
		}
		if got, ok := tk.FromAddress(MessageID(tok, "c@example.org")); !ok || got != id {
			t.Errorf("FromAddress(Message-ID of %d) = %d, %v", id, got, ok)
		}
		if _, ok := other.Parse(tok); ok {
			t.Errorf("a token of %d verified under another secret", id)
		}
		// Flip each character: never a valid token for another delivery.
		for i := range tok {
			b := []byte(tok)
			b[i] = "ab"[b[i]%2]
			if b[i] == tok[i] {
				continue
			}
			if got, ok := tk.Parse(string(b)); ok {
				t.Errorf("tampered token %q verified as %d", b, got)
			}
		}
	}
	for _, bad := range []string{"", "x", "campaign", "aaaaaaaaaaaaaaaaaaaaaaaaaaa", "!!!"} {
		if _, ok := tk.Parse(bad); ok {
			t.Errorf("Parse(%q) ok", bad)
		}
	}
}

func FuzzTokenParse(f *testing.F) {
	tk := NewTokens([]byte("0123456789abcdef0123456789abcdef"))
	f.Add(tk.Token(42))
	f.Add("abc")
	f.Fuzz(func(t *testing.T, s string) {
		if id, ok := tk.Parse(s); ok && !strings.EqualFold(tk.Token(id), s) {
			t.Errorf("Parse(%q) accepted a token that is not Token(%d)", s, id)
		}
	})
}
