# TypeDialog's own wording, English. Rule messages are left to the form
# engine in English (they also say what was given).

tui-page = page { $page } of { $total }
tui-summary = Summary
tui-add = + add an item to { $label } (space)
tui-keys = tab/↓ next field · shift+tab/↑ previous · ←/→/space choose · enter next page · esc back · ctrl+x remove item · ctrl+c quit
tui-summary-keys = enter submit · esc back · ctrl+c quit
tui-problems = Cannot submit:
yes = yes
no = no

page-submit = Submit
page-add = Add { $label }
page-remove = Remove
page-output = Output
page-snapshot = Config snapshot { $id } (sha-256 { $hash })
page-required = is required

cli-add-another = Add another { $label }?
