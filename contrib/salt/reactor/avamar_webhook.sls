{#- Post an avtar MSG_ERR_AUTH_FAIL line to the StackStorm webhook avamar_auth_failure
    (rule avamar.salt_webhook_remediate). Set in the master config:
      avamar_st2_webhook_url: https://st2.example.com/api/v1/webhooks/avamar_auth_failure
      avamar_st2_api_key: <an st2 API key; keep this file mode 0600>
      avamar_server_by_minion: {client1: ava1, client2: ava1}   # client minion -> Avamar server name
    The line is untrusted text: it travels as JSON data, never into a command. -#}
{%- set line = data.get('raw', '') %}
{%- set server = opts.get('avamar_server_by_minion', {}).get(data.get('id', '')) %}
{%- if 'MSG_ERR_AUTH_FAIL' in line and '<5704>' in line and server %}
avamar_st2_webhook:
  runner.http.query:
    - args:
      - url: {{ opts['avamar_st2_webhook_url'] | tojson }}
      - method: POST
      - header_dict:
          Content-Type: application/json
          St2-Api-Key: {{ opts['avamar_st2_api_key'] | tojson }}
      - data: {{ {'event': 'backup_auth_failure', 'server': server, 'minion': data.get('id', ''), 'line': line} | tojson | tojson }}
{%- endif %}
