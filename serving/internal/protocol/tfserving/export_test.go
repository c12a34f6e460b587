package tfserving

// CardResponse lets the HTTP tests (package tfserving_test) decode a card.
type CardResponse = cardResponse
