# TypeDialog's own wording, Spanish.

tui-page = página { $page } de { $total }
tui-summary = Resumen
tui-add = + añadir un elemento a { $label } (espacio)
tui-keys = tab/↓ campo siguiente · shift+tab/↑ anterior · ←/→/espacio elegir · enter página siguiente · esc atrás · ctrl+x quitar elemento · ctrl+c salir
tui-summary-keys = enter enviar · esc atrás · ctrl+c salir
tui-problems = No se puede enviar:
yes = sí
no = no

page-submit = Enviar
page-add = Añadir { $label }
page-remove = Quitar
page-output = Resultado
page-snapshot = Instantánea de configuración { $id } (sha-256 { $hash })
page-required = es obligatorio

rule-required = es obligatorio
rule-type = tiene un tipo de valor incorrecto
rule-unknown = el formulario no tiene el campo { $field }
rule-min_length = { $min ->
    [one] debe tener al menos { $min } carácter
   *[other] debe tener al menos { $min } caracteres
    }
rule-max_length = { $max ->
    [one] debe tener como mucho { $max } carácter
   *[other] debe tener como mucho { $max } caracteres
    }
rule-pattern = debe cumplir { $pattern }
rule-min = debe ser al menos { $min }
rule-max = debe ser como mucho { $max }
rule-options = debe ser una de estas opciones: { $options }
rule-date = debe ser una fecha AAAA-MM-DD
rule-min_items = { $min ->
    [one] necesita al menos { $min } elemento
   *[other] necesita al menos { $min } elementos
    }
rule-max_items = { $max ->
    [one] admite como mucho { $max } elemento
   *[other] admite como mucho { $max } elementos
    }

cli-add-another = ¿Añadir otro elemento a { $label }?
