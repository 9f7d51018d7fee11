{#- The Snowflake variants of the secure_view materialization's dispatched macros.

    No exposure window: the masking and row access policies are part of the view's own
    CREATE statement, so the view never exists unmasked, and `copy grants` carries the grants of
    the view it replaces over atomically. dbt-snowflake's `grants:` runs before post-hooks, so a
    policy attached by a post-hook would leave a live grant on an unmasked column; that is why
    nothing here is a hook. The policies, the classification tag and the product reader database
    roles are created by `mesh apply --target prod` (meshkit.backends.snowflake.plan). -#}

{#- Columns are referenced unquoted: dbt-snowflake creates contract columns unquoted (upper
    case in Snowflake), and adapter.quote() would make them case-sensitive lower case. -#}
{#- What Snowflake would refuse, or what no policy can mask, refused before anything is built. -#}
{% macro snowflake__validate_secure_view(view_relation, columns, row_filter) -%}
    {#- Snowflake refuses a column in both a row access policy and a masking policy. -#}
    {%- for c in columns if row_filter and c.rule and c.name | lower == row_filter.column | lower -%}
        {{ exceptions.raise_compiler_error(
            "secure view " ~ view_relation ~ ": column '" ~ c.name ~ "' is classified '"
            ~ c.effective ~ "' (masked) and is also the row filter's column; Snowflake allows "
            ~ "only one of the two policies on a column; fix: classify it public or internal, or "
            ~ "filter on another column") }}
    {%- endfor %}
    {#- A masking policy's signature must be the column's exact type: one policy per type. -#}
    {%- for c in columns if c.rule -%}
        {%- set t = mesh_platform.snowflake_type(c.data_type) -%}
        {%- if t.error -%}
            {{ exceptions.raise_compiler_error(
                "secure view " ~ view_relation ~ ": column '" ~ c.name ~ "' is classified '"
                ~ c.effective ~ "' (masked) but its type '" ~ c.data_type ~ "' has no exact "
                ~ "Snowflake masking policy (" ~ t.error ~ "); fix: declare one of the types listed in "
                ~ "docs/snowflake-runbook.md (masking policies per type), or classify it public or internal") }}
        {%- endif -%}
    {%- endfor %}
{%- endmacro %}


{% macro snowflake__create_secure_view(view_relation, data_relation, columns, row_filter) -%}
    {%- set classification_tag = mesh_policy.mesh_policy().governance_database ~ '.policies.classification' -%}
    {%- set types = {} -%}
    {%- for c in columns if c.rule -%}
        {%- do types.update({c.name: mesh_platform.snowflake_type(c.data_type)}) -%}
    {%- endfor %}
    create or replace secure view {{ view_relation }}
    (
    {%- for c in columns %}
        {{ c.name }}
        {%- if c.rule %} with masking policy {{ c.rule.snowflake_policy_prefix ~ types[c.name].slug }}{% endif %}
        {%- if c.classification %} with tag ({{ classification_tag }} = '{{ c.classification }}'){% endif %}
        {{- "," if not loop.last }}
    {%- endfor %}
    )
    {%- if row_filter %}
    with row access policy {{ row_filter.snowflake_policy }} on ({{ row_filter.column }})
    {%- endif %}
    copy grants
    as select
    {%- for c in columns %}
        {#- A mask never exceeds the column: masked strings are unbounded VARCHAR in the view. -#}
        {%- if c.rule and types[c.name].unbounded %}
        cast({{ c.name }} as {{ types[c.name].sql | lower }}) as {{ c.name }}
        {%- else %}
        {{ c.name }}
        {%- endif %}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ data_relation }}
    {#- The guard: no row while the last mesh-sync withholds this view (it found it serving
        personal data unmasked; meshkit.backends.snowflake.plan creates the table). #}
    where not exists (
        select 1 from {{ mesh_policy.mesh_policy().governance_database }}.mesh_catalog.withheld_views as withheld
        where withheld.view_name = '{{ mesh_platform.snowflake_view_name(view_relation) }}'
    )
{%- endmacro %}


{#- A view's name as the sync lists it in withheld_views: database.schema.identifier, lower
    case (meshkit.dbt_manifest.relation_key). -#}
{% macro snowflake_view_name(view_relation) -%}
    {{- (view_relation.database ~ '.' ~ view_relation.schema ~ '.' ~ view_relation.identifier) | lower | replace("'", "''") -}}
{%- endmacro %}


{#- The exact Snowflake type of a contract's data_type, by the rules and the table of
    meshkit.column_types.snowflake_type (compiled into mesh_policy()):
    {sql, slug, unbounded}, or {error: why} when no exact masking policy can take it. -#}
{% macro snowflake_type(data_type) -%}
    {%- set policy = mesh_policy.mesh_policy() -%}
    {%- set t = (data_type | lower).split() | join(' ') -%}
    {%- set name = t.split('(')[0] | trim -%}
    {%- set args = [] -%}
    {%- if '(' in t -%}
        {%- if not t.endswith(')') -%}{{ return({'error': "'" ~ data_type ~ "' is not a type name"}) }}{%- endif -%}
        {%- for a in t[t.index('(') + 1:-1].split(',') -%}{%- do args.append(a | trim) -%}{%- endfor -%}
    {%- endif -%}
    {%- if name in policy.no_exact_policy -%}{{ return({'error': policy.no_exact_policy[name]}) }}{%- endif -%}
    {%- if name not in policy.snowflake_types -%}
        {{ return({'error': "'" ~ data_type ~ "' is not a Snowflake type meshkit can mask"}) }}
    {%- endif -%}
    {%- set base = policy.snowflake_types[name][0] -%}
    {%- set rule = policy.snowflake_types[name][1] -%}
    {%- set bad_params = {'error': "'" ~ data_type ~ "': " ~ base ~ " does not take these parameters"} -%}
    {%- for a in args if not a.isdigit() -%}{{ return(bad_params) }}{%- endfor -%}
    {%- if args | length > policy.type_max_params[rule] -%}{{ return(bad_params) }}{%- endif -%}
    {%- set n = args | map('int') | list -%}
    {%- if rule == 'fixed' -%}
        {%- set p = n[0] if n | length > 0 else 38 -%}
        {%- set s = n[1] if n | length > 1 else 0 -%}
        {%- if p < 1 or p > 38 or s > p -%}{{ return({'error': "'" ~ data_type ~ "': precision 1-38 and scale 0-precision"}) }}{%- endif -%}
        {%- set sql = 'NUMBER(' ~ p ~ ',' ~ s ~ ')' -%}
    {%- elif rule == 'integer' -%}
        {%- set sql = 'NUMBER(38,0)' -%}
    {%- elif rule == 'fractional' -%}
        {%- set digits = n[0] if n | length > 0 else 9 -%}
        {%- if digits > 9 -%}{{ return({'error': "'" ~ data_type ~ "': fractional seconds precision is 0-9"}) }}{%- endif -%}
        {%- set sql = base ~ '(' ~ digits ~ ')' -%}
    {%- else -%}
        {%- set sql = base -%}
    {%- endif -%}
    {{ return({'sql': sql, 'slug': sql | lower | replace('(', '_') | replace(',', '_') | replace(')', ''),
               'unbounded': base in policy.unbounded_types}) }}
{%- endmacro %}


{#- The unversioned name of the latest version: a secure view over the versioned secure view
    (whose policies already apply: none here, or a hash would be hashed twice), carrying the same
    classification tags, granted to the same product readers in the same request. -#}
{% macro snowflake__create_latest_alias(alias_relation, view_relation, columns) -%}
    {%- set classification_tag = mesh_policy.mesh_policy().governance_database ~ '.policies.classification' -%}
    create or replace secure view {{ alias_relation }}
    {%- if columns %} (
    {%- for c in columns %}
        {{ c.name }}
        {%- if c.classification %} with tag ({{ classification_tag }} = '{{ c.classification }}'){% endif %}
        {{- "," if not loop.last }}
    {%- endfor %}
    )
    {%- endif %}
    copy grants as select
    {%- for c in columns %}
        {{ c.name }}{{ "," if not loop.last }}
    {%- else %}
        *
    {%- endfor %}
    from {{ view_relation }};
    {{ mesh_platform.snowflake_grant_select_sql(alias_relation) }}
{%- endmacro %}


{#- dbt's `grants:` config only knows account roles, so the product's reader database role
    (<domain>.<product>_reader, created by the plan) is granted here, after the view (with its
    policies) exists. -#}
{% macro snowflake__grant_product_readers(view_relation, model) -%}
    {% call statement('grant_product_readers') -%}
        {{ mesh_platform.snowflake_grant_select_sql(view_relation) }}
    {%- endcall %}
{%- endmacro %}


{% macro snowflake_grant_select_sql(view_relation) -%}
    grant select on view {{ view_relation }} to database role {{ mesh_platform.snowflake_reader_role(view_relation) }}
{%- endmacro %}


{#- Same name as meshkit.backends.snowflake.plan.reader_role. -#}
{% macro snowflake_reader_role(view_relation) -%}
    {{- view_relation.database }}.{{ view_relation.schema | lower }}_reader
{%- endmacro %}
