package render

// OldQEncode lets the external tests' go-mail oracle encode subjects as
// Compose did before it wrote messages itself.
var OldQEncode = oldQEncode
