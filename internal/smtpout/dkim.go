package smtpout

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/textproto"
	"os"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIM configures DKIM signatures (RFC 6376) with relaxed/relaxed
// canonicalization. Key is an RSA (2048 bits or more recommended) or
// Ed25519 (RFC 8463) signer; any crypto.Signer with such a public key works,
// including keys held in a KMS.
type DKIM struct {
	Domain   string // d=, the signing domain
	Selector string // s=, the DNS selector: <Selector>._domainkey.<Domain>
	Key      crypto.Signer
}

// signedHeaders are the header fields signed when present (RFC 6376
// §5.4.1), including both List-Unsubscribe fields as RFC 8058 §4 requires
// for one-click unsubscription.
var signedHeaders = []string{
	"From", "Reply-To", "Sender", "To", "Cc", "Subject", "Date", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
}

func (d *DKIM) validate() error {
	switch {
	case d.Domain == "":
		return errors.New("dkim: domain is empty")
	case d.Selector == "":
		return errors.New("dkim: selector is empty")
	case d.Key == nil:
		return errors.New("dkim: key is missing")
	}
	switch d.Key.Public().(type) {
	case *rsa.PublicKey, ed25519.PublicKey:
		return nil
	}
	return fmt.Errorf("dkim: key type %T is not RSA or Ed25519", d.Key.Public())
}

// sign returns raw with a DKIM-Signature header prepended. It signs the
// fields of signedHeaders that raw has, and From in any case (a message
// without From cannot be signed).
//
// go-msgauth is used rather than go-mail's built-in signer, which breaks the
// signature when the h= tag must be folded (a list longer than 73
// characters, as the List-Unsubscribe pair makes it) and rejects signers
// that are not in-memory keys.
func (d *DKIM) sign(raw []byte) ([]byte, error) {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return nil, fmt.Errorf("dkim: read header: %w", err)
	}
	keys := make([]string, 0, len(signedHeaders))
	for _, k := range signedHeaders {
		if _, ok := h[textproto.CanonicalMIMEHeaderKey(k)]; ok || k == "From" {
			keys = append(keys, k)
		}
	}
	var out bytes.Buffer
	out.Grow(len(raw) + 512)
	err = dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain:                 d.Domain,
		Selector:               d.Selector,
		Signer:                 d.Key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             keys,
	})
	if err != nil {
		return nil, fmt.Errorf("dkim: sign: %w", err)
	}
	return out.Bytes(), nil
}

// ReadDKIMKey reads a PEM private key for DKIM from path: PKCS #1 or
// PKCS #8 RSA, or PKCS #8 Ed25519.
func ReadDKIMKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dkim key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("read dkim key %s: no PEM block", path)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read dkim key %s: %w", path, err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read dkim key %s: %w", path, err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("read dkim key %s: %T is not an RSA or Ed25519 key", path, k)
	}
	return nil, fmt.Errorf("read dkim key %s: PEM block %q is not a private key", path, block.Type)
}
