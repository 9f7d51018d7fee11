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
    {% do mesh_platform.refuse_personal_names(model, columns) %}
    {% do mesh_platform.refuse_derived_personal(model, columns, sql) %}

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
    {#- Before the view is replaced: values of personal data in a column the view would show as
        is stop the build, and the view serves what it served before (or nothing). -#}
    {% do mesh_platform.refuse_personal_values(model, columns, data_relation if in_place else intermediate) %}
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


{#- The build gate of the mesh's personal-data policies, as mesh.yml sets them for the model's
    domain (mesh_policy().governance): a column the view would show as is (its classification
    does not mask) must not be named like personal data (personal_data.by_name), nor hold values
    that look like it (personal_data.by_value, sampled as the policy samples them), unless a
    current waiver in governance/waivers.yml excuses the model. A domain engineer's own
    `dbt build` runs it too, so the secure view is never replaced with one that publishes such a
    column: the dbt test and the sync would report it only once analysts could read it. -#}
{#- Whether a current waiver of governance/waivers.yml excuses node ``unique_id`` from a policy
    (also read by the platform's mesh_domain_governance test). -#}
{% macro waived(policy_id, unique_id) -%}
    {%- set today = modules.datetime.date.today().isoformat() -%}
    {%- for w in mesh_policy.mesh_policy().governance.waivers
          if w[0] == policy_id and w[1] == unique_id and w[2] >= today -%}
        {{ return(true) }}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{% macro personal_data_refusal(model, column, what, policy_id) -%}
    {%- set file = (model.patch_path or model.original_file_path).split('://')[-1] -%}
    {%- set masking = mesh_policy.mesh_policy().governance.masked_classifications -%}
    {{ return(file ~ ": model " ~ model.unique_id ~ ", column '" ~ column.name ~ "': " ~ what
        ~ ", and its classification '" ~ column.effective ~ "' shows it unmasked (" ~ policy_id
        ~ "); the secure view was not replaced; fix: classify `" ~ column.name ~ "` with a "
        ~ "masking classification (" ~ (masking | join(', ')) ~ "), or waive " ~ policy_id
        ~ " for " ~ model.unique_id ~ " in governance/waivers.yml with the reason") }}
{%- endmacro %}

{% macro refuse_personal_names(model, columns) -%}
    {%- set gov = mesh_policy.mesh_policy().governance -%}
    {%- if 'personal_data.by_name' not in gov.checks.get(model.package_name, [])
          or mesh_platform.waived('personal_data.by_name', model.unique_id) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for c in columns if not c.rule -%}
        {%- for kind, pattern in gov.personal_patterns.items()
              if modules.re.search(pattern, c.name | lower) -%}
            {{ exceptions.raise_compiler_error(mesh_platform.personal_data_refusal(
                model, c, "its name looks like " ~ kind, 'personal_data.by_name')) }}
        {%- endfor -%}
    {%- endfor -%}
{%- endmacro %}

{#- DuckDB: a gate's function comes from meshkit's dbt-duckdb plugin; a session without it is
    refused (fail closed), dropping what was ``staged`` for the view, if anything. -#}
{% macro require_plugin_function(model, function, what, staged=none) -%}
    {%- set found = run_query("select count(*) from duckdb_functions() where function_name = '" ~ function ~ "'") -%}
    {%- if found.columns[0].values()[0] == 0 -%}
        {% if staged is not none %}{% do adapter.drop_relation(staged) %}{% endif %}
        {{ exceptions.raise_compiler_error(
            "model " ~ model.unique_id ~ ": the session cannot " ~ what ~ " (the function "
            ~ function ~ " is missing); fix: enable meshkit's plugin in the domain's profiles.yml "
            ~ "(plugins: [{module: meshkit.backends.duckdb.dbt_plugin}])") }}
    {%- endif -%}
{%- endmacro %}

{#- `staged` is the model's data as just built, before the view is replaced. -#}
{% macro refuse_personal_values(model, columns, staged) -%}
    {{ return(adapter.dispatch('refuse_personal_values', 'mesh_platform')(model, columns, staged)) }}
{%- endmacro %}

{#- Snowflake: personal_data.by_value samples the DuckDB warehouse only (see the README). -#}
{% macro default__refuse_personal_values(model, columns, staged) -%}
{%- endmacro %}

{#- DuckDB: the sampled values are matched by the plugin's mesh_personal_values, the policy's
    own detectors, inside the warehouse: only the kind and the counts come back. On refusal the
    staged table is dropped, so the refused rows reach no relation. -#}
{% macro duckdb__refuse_personal_values(model, columns, staged) -%}
    {%- set gov = mesh_policy.mesh_policy().governance -%}
    {%- set params = gov['values'].get(model.package_name) -%}
    {%- if params is none or mesh_platform.waived('personal_data.by_value', model.unique_id) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set candidates = [] -%}
    {#- Numbers too, as personal_data.by_value samples them (card numbers kept as integers), and
        a column declared without a type, which it samples as text. -#}
    {%- for c in columns if not c.rule and (c.family in ('string', 'number') or not c.data_type)
          and not modules.re.search(gov.value_skip_names, c.name | lower) -%}
        {%- do candidates.append(c) -%}
    {%- endfor -%}
    {%- if not candidates -%}{{ return(none) }}{%- endif -%}
    {% do mesh_platform.require_plugin_function(model, 'mesh_personal_values',
                                                 'check its columns for personal data', staged) %}
    {%- for c in candidates -%}
        {%- set probe -%}
            select mesh_personal_values(list(v), {{ params.min_share }}) from (
                select cast({{ c.quoted }} as varchar) as v from {{ staged }}
                where {{ c.quoted }} is not null limit {{ params.sample_rows }})
        {%- endset -%}
        {%- set kind = run_query(probe).columns[0].values()[0] -%}
        {%- if kind -%}
            {%- set parts = kind.split('|') -%}
            {% do adapter.drop_relation(staged) %}
            {{ exceptions.raise_compiler_error(mesh_platform.personal_data_refusal(
                model, c, parts[1] ~ " of " ~ parts[2] ~ " sampled values look like " ~ parts[0],
                'personal_data.by_value')) }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}


{#- A column the view would show as is that derives from personal data under a harmless name:
    personal_data.by_lineage (a parent column named like personal data) and
    classification.propagation (a parent column whose classification masks), where mesh.yml runs
    them at error severity for the domain (mesh_policy().governance.derived) and no current
    waiver excuses the model. Refused before anything is built. -#}
{% macro refuse_derived_personal(model, columns, sql) -%}
    {{ return(adapter.dispatch('refuse_derived_personal', 'mesh_platform')(model, columns, sql)) }}
{%- endmacro %}

{#- Snowflake: the lineage is traced by the DuckDB plugin's function (see the README). -#}
{% macro default__refuse_derived_personal(model, columns, sql) -%}
{%- endmacro %}

{#- DuckDB: the plugin's mesh_derived_personal traces the model's compiled SQL against its parents'
    columns as the warehouse has them (a parent built without documenting every column, or not
    compiled in this run, is still known), and on up through the domain's internal models, each
    from the statement dbt last built it with (target/run), else the SQL dbt last compiled it to
    (target/compiled): an email derived two models up under a harmless name is refused too. -#}
{% macro duckdb__refuse_derived_personal(model, columns, sql) -%}
    {%- set gov = mesh_policy.mesh_policy().governance -%}
    {%- if 'derived' not in gov -%}
        {#- A policy macro generated by an earlier meshkit: fail closed, not open. -#}
        {{ exceptions.raise_compiler_error(
            "model " ~ model.unique_id ~ ": the mesh's policy macro (mesh_policy/macros/mesh_policy.sql) "
            ~ "predates this platform's build gate of derived personal data; fix: run `mesh generate` "
            ~ "at the mesh root") }}
    {%- endif -%}
    {%- set gates = gov.derived.get(model.package_name) or {} -%}
    {%- set policies = {} -%}
    {%- for policy_id, params in gates.items()
          if not mesh_platform.waived(policy_id, model.unique_id) -%}
        {%- do policies.update({policy_id: params}) -%}
    {%- endfor -%}
    {%- set candidates = columns | rejectattr('rule') | map(attribute='name') | list -%}
    {%- if not policies or not candidates -%}{{ return(none) }}{%- endif -%}
    {#- Every relation upstream of the model, walked through the domain's internal models (each
        with its file, by which the plugin finds what dbt compiled and ran for it under target/,
        and the relations it reads) up to sources, seeds, snapshots and products. -#}
    {%- set parents = [] -%}
    {%- set keys = [] -%}
    {%- set queue = model.depends_on.nodes | list -%}
    {%- set seen = [] -%}
    {%- for uid in queue if uid not in seen -%}
        {%- do seen.append(uid) -%}
        {%- set node = graph.nodes.get(uid) or graph.sources.get(uid) -%}
        {%- if node -%}
            {%- set node_keys = mesh_platform.relation_keys(node) -%}
            {%- set materialized = (node.get('config') or {}).get('materialized') -%}
            {%- set classes = {} -%}
            {%- for column_name, column in (node.get('columns') or {}).items() -%}
                {%- set config_meta = (column.get('config') or {}).get('meta') or {} -%}
                {%- do classes.update({column_name: config_meta.get('classification',
                                                                    (column.get('meta') or {}).get('classification'))}) -%}
            {%- endfor -%}
            {%- set product = node.resource_type == 'model' and (
                    materialized == 'secure_view' or node.package_name != model.package_name) -%}
            {%- set entry = {'keys': node_keys, 'classes': classes, 'product': product} -%}
            {%- if node.resource_type == 'model' and not product -%}
                {%- set reads = [] -%}
                {%- for up in node.depends_on.nodes -%}
                    {%- set up_node = graph.nodes.get(up) or graph.sources.get(up) -%}
                    {%- if up_node -%}{%- do reads.extend(mesh_platform.relation_keys(up_node)) -%}{%- endif -%}
                    {%- do queue.append(up) -%}
                {%- endfor -%}
                {%- do entry.update({'file': node.original_file_path, 'reads': reads}) -%}
            {%- endif -%}
            {%- do parents.append(entry) -%}
            {%- for k in node_keys -%}{%- do keys.append((k | join('.') | lower)) -%}{%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {% do mesh_platform.require_plugin_function(model, 'mesh_derived_personal',
                                                 'trace its columns to personal data') %}
    {%- set request = {'sql': sql, 'parents': parents, 'candidates': candidates,
                       'policies': policies, 'masked': gov.masked_classifications,
                       'compiled': [adapter.config.project_root, adapter.config.target_path,
                                    model.package_name]} -%}
    {%- set probe -%}
        select mesh_derived_personal('{{ request | tojson | replace("'", "''") }}', (
            select to_json(list([database_name, schema_name, table_name, column_name, data_type]
                                order by database_name, schema_name, table_name, column_index))
            from duckdb_columns()
            where lower(database_name || '.' || schema_name || '.' || table_name) in (
                {%- for k in keys %}'{{ k | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
                {{- "''" if not keys -}})))
    {%- endset -%}
    {%- set result = run_query(probe).columns[0].values()[0] -%}
    {%- if result -%}
        {%- set parts = result.split('|', 2) -%}
        {%- set column = columns | selectattr('name', 'equalto', parts[1]) | first -%}
        {{ exceptions.raise_compiler_error(mesh_platform.personal_data_refusal(
            model, column, parts[2], parts[0])) }}
    {%- endif -%}
{%- endmacro %}


{#- The relations a node of the graph is at: its own, and for a product dataset the internal table
    behind its secure view, each [database, schema, identifier]. -#}
{% macro relation_keys(node) -%}
    {%- set name = node.get('alias') or node.get('identifier') or node.name -%}
    {%- set node_keys = [[node.database, node.schema, name]] -%}
    {%- if (node.get('config') or {}).get('materialized') == 'secure_view' -%}
        {%- do node_keys.append([node.database, 'internal', node.schema ~ '__' ~ name]) -%}
    {%- endif -%}
    {{ return(node_keys) }}
{%- endmacro %}


{#- The view's columns: [{name, quoted, data_type, classification, effective, family, rule}] in
    contract order. Fails closed: a classification mesh.yml does not define stops the build, a
    column without one is masked as mesh.yml's default_classification (unset: `unclassified`,
    the most restrictive level), and a dataset must document its columns (the view enumerates
    them, never `select *`). `rule` holds the masking bodies of the effective classification
    and the column's family (and the prefix of its Snowflake policies' names), or none when the
    column is shown as is. -#}
{% macro secure_columns(model) -%}
    {%- set policy = mesh_policy.mesh_policy() -%}
    {%- set where = model.unique_id ~ " (" ~ model.original_file_path ~ ")" -%}
    {%- if not model.columns -%}
        {{ exceptions.raise_compiler_error(
            "public dataset " ~ where ~ " documents no columns; a secure view enumerates the "
            ~ "columns it shows; fix: list every column with its data_type and "
            ~ "config.meta.classification in the model's YAML (and enforce the contract)") }}
    {%- endif -%}
    {%- set out = [] -%}
    {%- for name, column in model.columns.items() -%}
        {%- set meta = column.get('meta') or {} -%}
        {%- set config_meta = (column.get('config') or {}).get('meta') or {} -%}
        {%- set declared = config_meta.get('classification', meta.get('classification')) -%}
        {%- if declared is not none and declared not in policy.classifications -%}
            {%- set wanted = (declared | string | lower) -%}
            {%- set close = [] -%}
            {%- for c in policy.classifications
                  if c == wanted or c.startswith(wanted[:3]) or wanted.startswith(c[:3]) -%}
                {%- do close.append(c) -%}
            {%- endfor -%}
            {{ exceptions.raise_compiler_error(
                model.original_file_path ~ ": model " ~ model.unique_id ~ ", column '" ~ name
                ~ "': classification '" ~ declared ~ "' is not defined in mesh.yml"
                ~ (" (did you mean '" ~ close[0] ~ "'?)" if close else "")
                ~ "; defined: " ~ (policy.classifications | join(', '))
                ~ "; fix: use one of them, or define it under classifications: in mesh.yml") }}
        {%- endif -%}
        {%- set effective = declared if declared is not none else policy.default_classification -%}
        {%- set family = mesh_platform.type_family(column.get('data_type') or '') -%}
        {%- do out.append({
            'name': name,
            'quoted': adapter.quote(name),
            'data_type': column.get('data_type') or '',
            'classification': declared,
            'effective': effective,
            'family': family,
            'rule': policy.masks.get(effective, {}).get(family),
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


{#- What no engine could enforce, then what the adapter refuses, before anything is built. -#}
{% macro validate_secure_view(view_relation, columns, row_filter) -%}
    {%- if row_filter and row_filter.column | lower not in (columns | map(attribute='name') | map('lower') | list) -%}
        {{ exceptions.raise_compiler_error(
            "secure view " ~ view_relation ~ ": its row filter reads column '" ~ row_filter.column
            ~ "', which the dataset does not have; fix: add the column to the model's contract, "
            ~ "or remove meta.row_filter from it") }}
    {%- endif %}
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
    view, evaluated per query against the session's variables: mesh_roles, and mesh_clearances,
    the clearances those roles hold, which every meshkit session reads from the governance
    database when its roles are set (unset: no clearance; a variable is a constant when the view
    is bound, so the tests cost nothing per row). The domain's
    own engineer and owner roles see every value and row, and so does a session cleared on the
    view's product by an approved access request (mesh_cleared_products, set by `mesh query`;
    unset, it is cleared on nothing). -#}
{% macro default__create_secure_view(view_relation, data_relation, columns, row_filter) -%}
    {%- set policy = mesh_policy.mesh_policy() -%}
    {%- set own_roles = policy.domains.get(view_relation.database, {}).get('own_roles', {}).get('duckdb', 'false') -%}
    {%- set clearance = policy.product_clearance -%}
    {%- set product_cleared = clearance.duckdb | replace(clearance.product_placeholder,
          (view_relation.database ~ '.' ~ view_relation.schema) | lower) -%}
    {%- set own = '(' ~ own_roles ~ ' or ' ~ product_cleared ~ ')' -%}
    create or replace view {{ view_relation }} as
    select
    {%- for c in columns %}
        {% if c.rule -%}
            case when {{ own }} then {{ c.quoted }} else {{ mesh_platform.apply_body(c.rule.duckdb, c.quoted) }} end as {{ c.quoted }}
        {%- else -%}
            {{ c.quoted }}
        {%- endif -%}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ data_relation }}
    {%- if row_filter %}
    where {{ own }} or ({{ row_filter.duckdb }})
    {%- endif %}
{%- endmacro %}

{% macro default__create_latest_alias(alias_relation, view_relation, columns) -%}
    create or replace view {{ alias_relation }} as select * from {{ view_relation }}
{%- endmacro %}

{#- Without roles, nothing to grant. -#}
{% macro default__grant_product_readers(view_relation, model) -%}
{%- endmacro %}


{#- The `ref` of a mesh domain (each domain's macros/mesh.sql delegates its `ref` here).

    A domain sees its own data whole: a ref to one of its own secure views reads the internal
    table behind it, so its models and tests see every row and value (the view is for
    consumers). A ref to another domain reaches only a data product's output dataset, compiled
    to its secure view: anything else fails naming the ref and how to publish it, so nothing
    compiles to another domain's internal schema. -#}
{% macro mesh_ref() -%}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- if not execute or relation is none or relation is string -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set found = namespace(node=none) -%}
    {%- for node in graph.nodes.values()
          if (node.database or '') | lower == (relation.database or '') | lower
          and (node.schema or '') | lower == (relation.schema or '') | lower
          and (node.alias or node.name) | lower == (relation.identifier or '') | lower -%}
        {%- set found.node = node -%}
    {%- endfor -%}
    {%- set node = found.node -%}
    {%- set own_database = (target.database or '') | lower -%}
    {%- if node is not none and node.package_name == project_name -%}
        {%- if node.config.get('materialized') == 'secure_view' -%}
            {{ return(mesh_platform.internal_relation(relation)) }}
        {%- endif -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- if node is none and (relation.database or '') | lower == own_database -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set is_product = node is not none and node.get('access') == 'public' and node.get('group')
          and (relation.schema or '') | lower == (node.get('group') or '') | lower
          and (relation.schema or '') | lower != 'internal' -%}
    {%- if not is_product -%}
        {%- set name = varargs | join('.') -%}
        {%- set producer = node.package_name if node is not none else relation.database -%}
        {{ exceptions.raise_compiler_error(
            model.unique_id ~ " refs '" ~ name ~ "' (" ~ relation ~ ") of domain " ~ producer
            ~ ", which is not a data product's output dataset; other domains are read only "
            ~ "through their products' secure views; fix: in " ~ producer ~ ", publish the model "
            ~ "(config: group: <product>, access: public, materialized: secure_view, a contract "
            ~ "with classified columns) and build it, or ref one of its products' datasets") }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
