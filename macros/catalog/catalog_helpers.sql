{#- Helpers of the catalog marts (models/catalog). The mesh_catalog tables store lists as JSON
    text (e.g. regulations '["gdpr", "ccpa"]'), written the same on every backend. -#}

{#- The classifications that mesh.yml masks (mask other than none): the "classified" columns. -#}
{% macro masked_classifications() -%}
    {{ return(mesh_policy.mesh_policy().masks.keys() | list | sort) }}
{%- endmacro %}

{#- `classification in ('confidential', 'pii', ...)` for the masked classifications. -#}
{% macro is_masked_classification(column) -%}
    {%- set names = mesh_platform.masked_classifications() -%}
    {%- if names -%}
        {{ column }} in ({% for name in names %}'{{ name }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{#- Number of elements of a JSON list stored as text (0 for null). -#}
{% macro json_list_length(column) -%}
    {{ return(adapter.dispatch('json_list_length', 'mesh_platform')(column)) }}
{%- endmacro %}

{% macro default__json_list_length(column) -%}
    coalesce(json_array_length({{ column }}), 0)
{%- endmacro %}

{% macro snowflake__json_list_length(column) -%}
    coalesce(array_size(parse_json({{ column }})), 0)
{%- endmacro %}

{#- The elements of a JSON list stored as text, joined with ', ' (null when empty). -#}
{% macro json_list_join(column) -%}
    {{ return(adapter.dispatch('json_list_join', 'mesh_platform')(column)) }}
{%- endmacro %}

{% macro default__json_list_join(column) -%}
    nullif(array_to_string(from_json({{ column }}, '["varchar"]'), ', '), '')
{%- endmacro %}

{% macro snowflake__json_list_join(column) -%}
    nullif(array_to_string(parse_json({{ column }}), ', '), '')
{%- endmacro %}

{#- A select of one row per element of a JSON list stored as text: the key columns and `value`.
    Rows whose list is empty or null yield nothing. -#}
{% macro json_list_rows(relation, key_columns, list_column) -%}
    {{ return(adapter.dispatch('json_list_rows', 'mesh_platform')(relation, key_columns, list_column)) }}
{%- endmacro %}

{% macro default__json_list_rows(relation, key_columns, list_column) -%}
    select
        {% for key in key_columns %}{{ key }}, {% endfor %}
        unnest(from_json({{ list_column }}, '["varchar"]')) as value
    from {{ relation }}
{%- endmacro %}

{% macro snowflake__json_list_rows(relation, key_columns, list_column) -%}
    select
        {% for key in key_columns %}{{ key }}, {% endfor %}
        elements.value::varchar as value
    from {{ relation }},
        lateral flatten(input => parse_json({{ list_column }})) as elements
{%- endmacro %}
