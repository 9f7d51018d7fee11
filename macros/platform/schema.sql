{#- Where a domain's models land. A public model of a group (an output dataset of a data
    product) lands in the schema named after its product, so its address is
    <domain>.<product>.<dataset> on every backend; everything else lands in `internal`, which no
    consumer role is ever granted. Domains call this from a one-line shim (dbt only honours a
    generate_schema_name override in the root project). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if node is not none and node.config.get('access') == 'public' and node.config.get('group') -%}
        {#- A product's output dataset is read by consumers: it must be a secure view, or its
            raw rows would sit at the product's address. Checked when dbt parses the model. -#}
        {%- if node.resource_type == 'model' and node.config.get('materialized') != 'secure_view' -%}
            {{ exceptions.raise_compiler_error(
                "model " ~ node.unique_id ~ " (" ~ node.original_file_path ~ ") is a public model "
                ~ "of product '" ~ node.config.get('group') ~ "' materialized as '"
                ~ node.config.get('materialized') ~ "'; a product's output dataset is served "
                ~ "only as a secure view; fix: set `materialized: secure_view` in its config, "
                ~ "or make it `access: protected` if it is not an output of the product") }}
        {%- endif -%}
        {{ node.config.get('group') | trim | lower }}
    {%- elif custom_schema_name is not none -%}
        {{ custom_schema_name | trim | lower }}
    {%- else -%}
        internal
    {%- endif -%}
{%- endmacro %}

{#- The internal table that holds a secure view's data: <db>.internal.<product>__<dataset>. -#}
{% macro internal_relation(view_relation) -%}
    {{ return(api.Relation.create(
        database=view_relation.database,
        schema='internal',
        identifier=view_relation.schema ~ '__' ~ view_relation.identifier,
        type='table')) }}
{%- endmacro %}
