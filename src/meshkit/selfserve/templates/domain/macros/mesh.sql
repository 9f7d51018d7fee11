{#- dbt honours a generate_schema_name override only in the root project: delegate to the
    platform's (public models of a product land in the product's schema, the rest in `internal`). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ return(mesh_platform.generate_schema_name(custom_schema_name, node)) }}
{%- endmacro %}

{#- Own products read whole (their internal tables), other domains only through their products'
    secure views: see mesh_platform.mesh_ref. -#}
{% macro ref() -%}
    {{ return(mesh_platform.mesh_ref(*varargs, **kwargs)) }}
{%- endmacro %}
