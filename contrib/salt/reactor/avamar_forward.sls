{#- Re-fire a beacon's avtar line on the master bus as avamar/avtar/line (read by AvamarLogSensor).
    The line is untrusted text: it is passed as data (tojson), never into a command. -#}
{%- set line = data.get('raw', '') %}
{%- if line %}
avamar_forward_avtar_line:
  runner.event.send:
    - args:
      - tag: avamar/avtar/line
      - data:
          id: {{ data.get('id', '') | tojson }}
          lines: {{ [line] | tojson }}
{%- endif %}
