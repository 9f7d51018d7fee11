{#- The materialization of a data product's output dataset.

    The model's rows are persisted in an internal table (contract enforced there: column names,
    types and constraints), and the model's own relation <domain>.<product>.<dataset> becomes a
    secure view over it that masks classified columns and filters rows by role, from mesh.yml
    (compiled into mesh_policy()) and the column / model meta. A versioned model that is the
    latest version also answers at its unversioned name. -#}
{% materialization secure_view, default %}
    {%- set view_relation = this.incorporate(type='view') -%}
    {%- set data_relation = mesh_platform.internal_relation(view_relation) -%}
    {%- set intermediate = make_intermediate_relation(data_relation) -%}
    {%- set existing_data = load_cached_relation(data_relation) -%}
    {%- set columns = mesh_platform.secure_columns(model) -%}
    {%- set row_filter = mesh_platform.row_filter_of(model) -%}
    {#- Refuse what the view could not enforce before anything is built. -#}
    {% do mesh_platform.validate_secure_view(view_relation, columns, row_filter) %}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {#- The data table is replaced so that the view always has one to read: at once where the
        adapter's CREATE TABLE AS replaces atomically, else built aside and swapped in. -#}
    {%- set in_place = mesh_platform.replaces_table_atomically() -%}
    {% do adapter.create_schema(data_relation) %}
    {% if not in_place %}{% do adapter.drop_relation(intermediate) %}{% endif %}
    {% call statement('main') -%}
        {{ get_create_table_as_sql(False, data_relation if in_place else intermediate, sql) }}
    {%- endcall %}
    {% if not in_place %}
        {#- DuckDB: inside dbt's transaction (BEGIN .. COMMIT below), so another session sees the
            old table or the new one. -#}
        {% if existing_data is not none %}
            {% do adapter.drop_relation(existing_data) %}
        {% endif %}
        {% do adapter.rename_relation(intermediate, data_relation) %}
    {% endif %}

    {#- A model switched to secure_view from a table leaves a table where the view goes. -#}
    {%- set existing_at_view = load_cached_relation(view_relation) -%}
    {% if existing_at_view is not none and not existing_at_view.is_view %}
        {% do adapter.drop_relation(existing_at_view) %}
    {% endif %}

    {%- set shared_relation = mesh_platform.opted_in_relation(model, data_relation) -%}
    {% call statement('secure_view') -%}
        {{ mesh_platform.create_secure_view(view_relation, shared_relation, columns, row_filter) }}
    {%- endcall %}

    {%- set relations = [view_relation, data_relation] -%}
    {%- set version = model.get('version') -%}
    {%- set latest = model.get('latest_version') -%}
    {% if version is not none and latest is not none and version | string == latest | string
          and model.name != view_relation.identifier %}
        {%- set latest_alias = view_relation.incorporate(path={'identifier': model.name}) -%}
        {% call statement('latest_alias') -%}
            {{ mesh_platform.create_latest_alias(latest_alias, view_relation, columns) }}
        {%- endcall %}
        {% do relations.append(latest_alias) %}
    {% endif %}

    {{ mesh_platform.grant_product_readers(view_relation, model) }}
    {% do apply_grants(view_relation, config.get('grants'), should_revoke=True) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': relations}) }}
{% endmaterialization %}


{#- The view's columns: [{name, quoted, data_type, classification, family, rule}] in contract
    order. `rule` holds the masking bodies of the column's classification and family (and the
    prefix of its Snowflake policies' names), or none when the column is shown as is. -#}
{% macro secure_columns(model) -%}
    {%- set policy = mesh_policy.mesh_policy() -%}
    {%- set out = [] -%}
    {%- for name, column in model.columns.items() -%}
        {%- set meta = column.get('meta') or {} -%}
        {%- set config_meta = (column.get('config') or {}).get('meta') or {} -%}
        {%- set classification = config_meta.get('classification', meta.get('classification')) -%}
        {%- set family = mesh_platform.type_family(column.get('data_type') or '') -%}
        {%- set rule = policy.masks.get(classification, {}).get(family) if classification else none -%}
        {%- do out.append({
            'name': name,
            'quoted': adapter.quote(name),
            'data_type': column.get('data_type') or '',
            'classification': classification,
            'family': family,
            'rule': rule,
        }) -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}


{#- CCPA opt-out: with meta.opt_out_column, the secure view reads an internal view of the rows
    whose flag is not true (the customers who did not opt out of sharing); else the table. -#}
{% macro opted_in_relation(model, data_relation) -%}
    {%- set flag = model.config.get('meta', {}).get('opt_out_column') -%}
    {%- if not flag -%}{{ return(data_relation) }}{%- endif -%}
    {%- if flag is not string or not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', flag)
          or flag | lower not in (model.columns.keys() | map('lower') | list) -%}
        {{ exceptions.raise_compiler_error(
            "model " ~ model.unique_id ~ " declares meta.opt_out_column '" ~ flag ~ "', which is not "
            ~ "one of its documented columns; fix: name the boolean opt-out column of its contract") }}
    {%- endif -%}
    {%- set opted_in = data_relation.incorporate(
            path={'identifier': data_relation.identifier ~ '__opted_in'}, type='view') -%}
    {% call statement('opted_in') -%}
        create or replace view {{ opted_in }} as
        {%- set own = mesh_policy.mesh_policy().domains[model.package_name].own_roles %}
        select * from {{ data_relation }}
        where not coalesce({{ flag }}, false)
            or {{ own.snowflake if target.type == 'snowflake' else own.duckdb }}
    {%- endcall %}
    {{ return(opted_in) }}
{%- endmacro %}


{#- The row filter a model declares with meta.row_filter, resolved against mesh.yml. -#}
{% macro row_filter_of(model) -%}
    {%- set name = model.config.get('meta', {}).get('row_filter') -%}
    {%- if not name -%}{{ return(none) }}{%- endif -%}
    {%- set rules = mesh_policy.mesh_policy().row_filters -%}
    {%- if name not in rules -%}
        {{ exceptions.raise_compiler_error(
            "model " ~ model.unique_id ~ " declares meta.row_filter '" ~ name ~ "', which mesh.yml does not define; "
            ~ "fix: use one of " ~ (rules.keys() | list | join(', ')) ~ " or add it under row_filters: in mesh.yml") }}
    {%- endif -%}
    {{ return(rules[name]) }}
{%- endmacro %}


{#- The masking family of a column type, from the prefix table meshkit.masking compiles into
    mesh_policy() (the same table its Python type_family reads). -#}
{% macro type_family(data_type) -%}
    {%- set t = data_type | trim | lower -%}
    {%- for family, prefixes in mesh_policy.mesh_policy().type_prefixes -%}
        {%- for prefix in prefixes if t.startswith(prefix) -%}{{ return(family) }}{%- endfor -%}
    {%- endfor -%}
    {{ return('other') }}
{%- endmacro %}


{#- Substitute the quoted column for the value placeholder of a compiled policy body. -#}
{% macro apply_body(body, quoted_column) -%}
    {{ return(body | replace(mesh_policy.mesh_policy().value_placeholder, quoted_column)) }}
{%- endmacro %}


{% macro validate_secure_view(view_relation, columns, row_filter) -%}
    {{ return(adapter.dispatch('validate_secure_view', 'mesh_platform')(view_relation, columns, row_filter)) }}
{%- endmacro %}

{% macro default__validate_secure_view(view_relation, columns, row_filter) -%}
{%- endmacro %}

{#- Whether CREATE TABLE AS replaces an existing table atomically. Snowflake commits every DDL
    on its own, so a drop then a rename would leave the view without its table in between; its
    CREATE OR REPLACE TABLE swaps in one statement. -#}
{% macro replaces_table_atomically() -%}
    {{ return(adapter.dispatch('replaces_table_atomically', 'mesh_platform')()) }}
{%- endmacro %}

{% macro default__replaces_table_atomically() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro snowflake__replaces_table_atomically() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro create_secure_view(view_relation, data_relation, columns, row_filter) -%}
    {{ return(adapter.dispatch('create_secure_view', 'mesh_platform')(view_relation, data_relation, columns, row_filter)) }}
{%- endmacro %}

{% macro create_latest_alias(alias_relation, view_relation, columns) -%}
    {{ return(adapter.dispatch('create_latest_alias', 'mesh_platform')(alias_relation, view_relation, columns)) }}
{%- endmacro %}

{% macro grant_product_readers(view_relation, model) -%}
    {{ return(adapter.dispatch('grant_product_readers', 'mesh_platform')(view_relation, model)) }}
{%- endmacro %}

{#- Adapters without secure views or policies (DuckDB): masking and filtering are inlined in the
    view, evaluated per query against the session's mesh_roles. A session cleared on the view's
    product by an approved access request (mesh_cleared_products, set by `mesh query`) sees it
    whole; with the variable unset it is cleared on nothing. -#}
{% macro default__create_secure_view(view_relation, data_relation, columns, row_filter) -%}
    {%- set clearance = mesh_policy.mesh_policy().product_clearance -%}
    {%- set cleared = clearance.duckdb | replace(clearance.product_placeholder,
          (view_relation.database ~ '.' ~ view_relation.schema) | lower) -%}
    create or replace view {{ view_relation }} as
    select
    {%- for c in columns %}
        {% if c.rule -%}
            case when {{ cleared }} then {{ c.quoted }} else {{ mesh_platform.apply_body(c.rule.duckdb, c.quoted) }} end as {{ c.quoted }}
        {%- else -%}
            {{ c.quoted }}
        {%- endif -%}{{ "," if not loop.last }}
    {%- else %}
        *
    {%- endfor %}
    from {{ data_relation }}
    {%- if row_filter %}
    where {{ cleared }} or ({{ row_filter.duckdb }})
    {%- endif %}
{%- endmacro %}

{% macro default__create_latest_alias(alias_relation, view_relation, columns) -%}
    create or replace view {{ alias_relation }} as select * from {{ view_relation }}
{%- endmacro %}

{#- Without roles, nothing to grant. -#}
{% macro default__grant_product_readers(view_relation, model) -%}
{%- endmacro %}
