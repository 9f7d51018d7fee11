{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ mesh_platform.generate_schema_name(custom_schema_name, node) }}
{%- endmacro %}
