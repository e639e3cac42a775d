// Package templates embeds the templates shipped with outreach. They are
// defaults: a campaign may replace them with its own, on disk or stored.
package templates

import "embed"

// Mail holds the mail templates under mail/; see mail/README.md for the
// layout. Use it as render.Load(fs.Sub(templates.Mail, "mail")). The all:
// prefix is needed: go:embed otherwise skips files beginning with _ (the
// layouts and partials).
//
//go:embed all:mail
var Mail embed.FS

// Web holds the web UI under web/: the pages (html/template, one file
// per page plus _layout.html and the _*.html partials) and static/, the
// stylesheet and script served under /static/. Nothing is fetched from
// outside.
//
//go:embed all:web
var Web embed.FS
