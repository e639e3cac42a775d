package segment_test

import (
	"fmt"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/segment"
)

func ExampleParse() {
	f, err := segment.Parse("Country IN (my, ph) AND kind = partner AND NOT tag = board")
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &outreach.Contact{Email: "maria@example.ph", Kind: "partner", Country: "PH", Tags: []string{"youth"}}
	fmt.Println(f.Match(c))
	fmt.Println(f)
	fmt.Println(f.Countries())

	_, err = segment.Parse("contry = MY")
	fmt.Println(err)
	// Output:
	// true
	// country in (MY, PH) and kind = partner and not tag = board
	// [MY PH] true
	// filter: column 1: unknown field "contry" (fields: email, domain, name, organization, kind, country, region, language, timezone, tag, status, attr.NAME); did you mean "country"?
}
