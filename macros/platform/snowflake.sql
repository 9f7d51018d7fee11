{#- The Snowflake variants of the secure_view materialization's dispatched macros.

    No exposure window: the masking and row access policies are part of the view's own
    CREATE statement, so the view never exists unmasked, and `copy grants` carries the grants of
    the view it replaces over atomically. dbt-snowflake's `grants:` runs before post-hooks, so a
    policy attached by a post-hook would leave a live grant on an unmasked column; that is why
    nothing here is a hook. The policies, the classification tag and the product reader database
    roles are created by `mesh apply --target prod` (meshkit.backends.snowflake.plan). -#}

{#- Columns are referenced unquoted: dbt-snowflake creates contract columns unquoted (upper
    case in Snowflake), and adapter.quote() would make them case-sensitive lower case. -#}
{% macro snowflake__create_secure_view(view_relation, data_relation, columns, row_filter) -%}
    {%- set classification_tag = mesh_platform.mesh_policy().governance_database ~ '.policies.classification' -%}
    {%- if row_filter and columns and row_filter.column not in (columns | map(attribute='name') | map('lower') | list) -%}
        {{ exceptions.raise_compiler_error(
            "secure view " ~ view_relation ~ ": its row filter reads column '" ~ row_filter.column
            ~ "', which the dataset does not have; fix: add the column to the model's contract, "
            ~ "or remove meta.row_filter from it") }}
    {%- endif %}
    {#- Snowflake refuses a column in both a row access policy and a masking policy. -#}
    {%- for c in columns if row_filter and c.rule and c.name | lower == row_filter.column | lower -%}
        {{ exceptions.raise_compiler_error(
            "secure view " ~ view_relation ~ ": column '" ~ c.name ~ "' is classified '"
            ~ c.classification ~ "' (masked) and is also the row filter's column; Snowflake allows "
            ~ "only one of the two policies on a column; fix: classify it public or internal, or "
            ~ "filter on another column") }}
    {%- endfor %}
    create or replace secure view {{ view_relation }}
    {%- if columns %} (
    {%- for c in columns %}
        {{ c.name }}
        {%- if c.rule %} with masking policy {{ c.rule.snowflake_policy }}{% endif %}
        {%- if c.classification %} with tag ({{ classification_tag }} = '{{ c.classification }}'){% endif %}
        {{- "," if not loop.last }}
    {%- endfor %}
    )
    {%- endif %}
    {%- if row_filter %}
    with row access policy {{ row_filter.snowflake_policy }} on ({{ row_filter.column }})
    {%- endif %}
    copy grants
    as select
    {%- for c in columns %}
        {{ c.name }}{{ "," if not loop.last }}
    {%- else %}
        *
    {%- endfor %}
    from {{ data_relation }}
{%- endmacro %}


{#- The unversioned name of the latest version: a secure view over the versioned secure view
    (whose policies already apply), granted to the same product readers in the same request. -#}
{% macro snowflake__create_latest_alias(alias_relation, view_relation) -%}
    create or replace secure view {{ alias_relation }} copy grants as select * from {{ view_relation }};
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
