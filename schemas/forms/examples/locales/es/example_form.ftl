# The example form in Spanish (TypeDialog i18n: see shared/typedialog/i18n).
form-title = Formulario de ejemplo
form-description = Muestra todas las funciones
section-basic = Información básica
    .description = Campos obligatorios
section-details = Detalles

name = Nombre completo
email = Correo electrónico
department = Departamento
    .option-engineering = Ingeniería
    .option-product = Producto
    .option-design = Diseño
team_size = Tamaño del equipo
skills = Habilidades
projects = Proyectos anteriores
projects-project_name = Nombre del proyecto
projects-project_role = Rol
    .option-lead = Responsable
    .option-developer = Desarrollador
    .option-reviewer = Revisor
