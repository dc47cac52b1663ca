{#- Post an avtar FATAL/Error <5704> MSG_ERR_AUTH_FAIL line to the StackStorm webhook avamar_auth_failure
    (rule avamar.salt_webhook_remediate). Set in the master config:
      avamar_st2_webhook_url: https://st2.example.com/api/v1/webhooks/avamar_auth_failure
      avamar_st2_api_key: <an st2 API key for this webhook only; keep this file mode 0600, never in pillar>
      avamar_server_by_minion: {client1: ava1, client2: ava1}   # the same map as sensor.salt_minions
    The minion is the one the beacon event names in BOTH its tag (salt/beacon/<id>/...) and its data
    (data.id), exactly as AvamarLogSensor decides (see README.md, "Trust model"); an unmapped minion
    posts nothing. The server comes from the map, never from the line. The line is untrusted text:
    it travels as JSON data, never into a command. -#}
{%- set line = data.get('raw', '') if data.get('raw') is string else '' %}
{%- set parts = tag.split('/') %}
{%- set minion = data.get('id', '') if (parts | length > 2 and parts[2] == data.get('id', '')) else '' %}
{%- set server = opts.get('avamar_server_by_minion', {}).get(minion) if minion else None %}
{%- if 'MSG_ERR_AUTH_FAIL' in line and ('FATAL <5704>' in line or 'Error <5704>' in line) and server %}
avamar_st2_webhook:
  runner.http.query:
    - args:
      - url: {{ opts['avamar_st2_webhook_url'] | tojson }}
      - method: POST
      - header_dict:
          Content-Type: application/json
          St2-Api-Key: {{ opts['avamar_st2_api_key'] | tojson }}
      - data: {{ {'event': 'backup_auth_failure', 'server': server, 'minion': minion, 'line': line} | tojson | tojson }}
{%- endif %}
