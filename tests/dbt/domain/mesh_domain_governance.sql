-- The mesh's governance, in a domain engineer's own `dbt build` (the platform package is
-- installed in every domain): the policies a manifest alone decides, for this project's public
-- datasets, as mesh.yml configures them (mesh_policy().governance). One row per violation; the
-- same rules `mesh check` runs (meshkit.governance), minus waived ones. Empty outside a domain.
{{ config(severity='error', tags=['mesh_governance']) }}

{%- set rows = [] -%}
{%- if execute and project_name != 'mesh_platform' -%}
    {%- set gov = mesh_policy.mesh_policy().governance -%}
    {%- set checks = gov.checks.get(project_name, []) -%}
    {%- for node in graph.nodes.values()
          if node.resource_type == 'model' and node.package_name == project_name
          and node.config.access == 'public' and node.config.group -%}
        {%- if 'dataset.contract' in checks and not node.config.contract.enforced
              and not mesh_platform.waived('dataset.contract', node.unique_id) -%}
            {%- do rows.append(['dataset.contract', node.unique_id, 'no enforced contract']) -%}
        {%- endif -%}
        {%- for column in node.columns.values() -%}
            {%- set meta = column.get('meta') or {} -%}
            {%- set config_meta = (column.get('config') or {}).get('meta') or {} -%}
            {%- set classification = config_meta.get('classification', meta.get('classification')) -%}
            {%- if 'dataset.columns_classified' in checks and not classification
                  and not mesh_platform.waived('dataset.columns_classified', node.unique_id) -%}
                {%- do rows.append(['dataset.columns_classified', node.unique_id,
                                    'column ' ~ column.name ~ ' has no classification']) -%}
            {%- endif -%}
            {%- if 'personal_data.by_name' in checks
                  and classification not in gov.masked_classifications
                  and not mesh_platform.waived('personal_data.by_name', node.unique_id) -%}
                {%- for kind, pattern in gov.personal_patterns.items()
                      if modules.re.search(pattern, column.name | lower) -%}
                    {%- if loop.first -%}
                        {%- do rows.append(['personal_data.by_name', node.unique_id,
                            'column ' ~ column.name ~ ' looks like ' ~ kind ~ ' but is not masked']) -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}

{%- if rows %}
{%- for r in rows %}
select {{ dbt.string_literal(r[0]) }} as policy, {{ dbt.string_literal(r[1]) }} as node,
    {{ dbt.string_literal(r[2]) }} as violation
{% if not loop.last %}union all
{% endif -%}
{%- endfor %}
{%- else %}
select cast(null as varchar) as policy, cast(null as varchar) as node,
    cast(null as varchar) as violation
where 1 = 0
{%- endif %}
