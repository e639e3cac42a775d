package devmail

// SubjectOf exposes subjectOf to the fuzz test.
var SubjectOf = subjectOf
